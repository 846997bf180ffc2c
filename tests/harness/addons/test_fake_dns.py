from __future__ import annotations

import ipaddress

from mitmproxy import dns
from mitmproxy.net.dns import types
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import taddons, tflow

from byok_audit.harness.addons.fake_dns import FAKE_NETWORK, FakeDns, FakeNames


def query(name: str, qtype: int) -> dns.DNSFlow:
    flow = tflow.tdnsflow()
    flow.client_conn.proxy_mode = ProxyMode.parse("tun:byoktest")
    flow.client_conn.sockname = ("10.255.255.53", 53)
    flow.request.questions = [dns.Question(name, qtype, 1)]
    return flow


def test_each_name_gets_its_own_fake_address_and_keeps_it():
    names = FakeNames()
    first = names.address_for("o123.ingest.sentry.io")
    second = names.address_for("openrouter.ai")
    assert first != second
    assert first in FAKE_NETWORK and second in FAKE_NETWORK
    assert names.address_for("O123.Ingest.Sentry.IO.") == first  # case and root dot ignored
    assert names.name_of(str(first)) == "o123.ingest.sentry.io"
    assert names.name_of(f"::ffff:{second}") == "openrouter.ai"
    assert names.name_of("203.0.113.9") is None


def test_an_a_query_is_answered_locally_and_recorded(journal):
    names = FakeNames()
    addon = FakeDns(journal.journal, names)
    flow = query("o123.ingest.sentry.io", types.A)
    with taddons.context(addon):
        addon.dns_request(flow)
    assert flow.response is not None  # answered here: DnsResolver never forwards it
    [answer] = flow.response.answers
    given = ipaddress.IPv4Address(answer.data)
    assert names.name_of(str(given)) == "o123.ingest.sentry.io"
    [exchange] = journal.exchanges()
    assert (exchange.kind, exchange.via, exchange.scheme) == ("dns", "tun", "dns")
    assert (exchange.host, exchange.port) == ("10.255.255.53", 53)
    assert (exchange.method, exchange.path) == ("A", "o123.ingest.sentry.io")
    assert exchange.response_body == str(given).encode()


def test_other_record_types_get_an_empty_answer_but_are_recorded(journal):
    addon = FakeDns(journal.journal, FakeNames())
    flow = query("api.anthropic.com", types.AAAA)
    with taddons.context(addon):
        addon.dns_request(flow)
    assert flow.response is not None and flow.response.answers == []
    assert flow.response.response_code == 0  # NOERROR: clients fall back to the A record
    [exchange] = journal.exchanges()
    assert (exchange.method, exchange.path, exchange.response_body) == (
        "AAAA",
        "api.anthropic.com",
        b"",
    )

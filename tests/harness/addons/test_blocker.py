from __future__ import annotations

from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.proxy.server_hooks import ServerConnectionHookData
from mitmproxy.test import taddons, tflow

from byok_audit.harness.addons.blocker import Blocker
from byok_audit.harness.addons.recorder import BLOCKED_PREFIX


def test_every_upstream_connection_is_refused_and_recorded(journal):
    blocker = Blocker(journal.journal)
    server = tflow.tserver_conn()
    server.address = ("db.example.org", 5432)
    client = tflow.tclient_conn()
    with taddons.context(blocker):
        blocker.server_connect(ServerConnectionHookData(server=server, client=client))
    assert server.error is not None and server.error.startswith(BLOCKED_PREFIX)
    assert blocker.attempts == 1
    [exchange] = journal.exchanges()
    assert (exchange.kind, exchange.host, exchange.port) == ("blocked", "db.example.org", 5432)
    assert exchange.answered_by == "blocked"
    assert exchange.client_addr == "127.0.0.1:22"


def test_only_the_allowed_sink_addresses_are_let_through(journal):
    sinks = {("127.0.0.1", 40000)}
    blocker = Blocker(journal.journal, lambda address: address in sinks)
    client = tflow.tclient_conn()
    client.proxy_mode = ProxyMode.parse("tun:byoktest")
    to_sink, elsewhere = tflow.tserver_conn(), tflow.tserver_conn()
    to_sink.address, elsewhere.address = ("127.0.0.1", 40000), ("198.51.100.7", 443)
    with taddons.context(blocker):
        blocker.server_connect(ServerConnectionHookData(server=to_sink, client=client))
        blocker.server_connect(ServerConnectionHookData(server=elsewhere, client=client))
    assert to_sink.error is None and elsewhere.error is not None
    [exchange] = journal.exchanges()
    assert (exchange.kind, exchange.via, exchange.host) == ("blocked", "tun", "198.51.100.7")

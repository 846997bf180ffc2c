from __future__ import annotations

import gzip
import json

from mitmproxy import connection, flow, http, tcp, udp
from mitmproxy.proxy import context
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import taddons, tflow
from mitmproxy.tls import TlsData

from byok_audit.harness.addons.fake_dns import FakeNames
from byok_audit.harness.addons.recorder import (
    ANSWERED_BY,
    BLOCKED_PREFIX,
    DESTINATION,
    FAULT,
    Recorder,
)
from byok_audit.harness.control import ControlReader
from tests.harness.addons.conftest import make_flow


def test_http_exchange_keeps_headers_order_case_and_wire_body(journal):
    recorder = Recorder(journal.journal, ControlReader(journal.path.parent))
    body = gzip.compress(b'{"prompt": "secret words"}')
    f = make_flow(
        host="o123.ingest.sentry.io",
        path="/api/1/envelope/?sentry_key=abc&x=1",
        headers=[("X-Api-Key", "k1"), ("content-encoding", "gzip"), ("x-api-key", "k2")],
        body=body,
    )
    f.request.headers["Host"] = "o123.ingest.sentry.io"
    with taddons.context(recorder):
        recorder.request(f)
        f.metadata[ANSWERED_BY] = "sink"
        f.metadata[FAULT] = None
        f.response = http.Response.make(200, b'{"ok":true}', {"Content-Type": "application/json"})
        recorder.response(f)
    [exchange] = journal.exchanges()
    assert exchange.kind == "http"
    assert exchange.host == "o123.ingest.sentry.io"
    assert exchange.sni == "o123.ingest.sentry.io"
    assert exchange.host_header == "o123.ingest.sentry.io"
    assert exchange.tls is True
    assert (exchange.method, exchange.path, exchange.query) == (
        "POST",
        "/api/1/envelope/",
        "sentry_key=abc&x=1",
    )
    assert exchange.request_headers[:3] == [
        ("X-Api-Key", "k1"),
        ("content-encoding", "gzip"),
        ("x-api-key", "k2"),
    ]
    assert exchange.request_body == body  # still compressed: the bytes on the wire
    assert exchange.response_status == 200
    assert exchange.response_body == b'{"ok":true}'
    assert exchange.answered_by == "sink"
    assert exchange.client_addr == "127.0.0.1:22"


def test_failed_flow_is_recorded_with_its_error_and_blocked_marker(journal):
    recorder = Recorder(journal.journal, ControlReader(journal.path.parent))
    f = make_flow(host="evil.example", scheme="http", port=80)
    with taddons.context(recorder):
        recorder.request(f)
        f.error = flow.Error(f"{BLOCKED_PREFIX}: no upstream connections (evil.example:80)")
        recorder.error(f)
    [exchange] = journal.exchanges()
    assert exchange.answered_by == "blocked"
    assert exchange.tls is False and exchange.sni is None
    assert BLOCKED_PREFIX in (exchange.error or "")


def test_connect_without_request_is_an_exchange_of_its_own(journal):
    recorder = Recorder(journal.journal, ControlReader(journal.path.parent))
    lonely = make_flow(host="db.example.org", method="CONNECT", path="", port=5432)
    used = make_flow(host="api.anthropic.com", method="CONNECT", path="", port=443)
    request = make_flow()
    request.client_conn = used.client_conn
    with taddons.context(recorder):
        recorder.http_connect(lonely)
        recorder.http_connect(used)
        recorder.request(request)
        recorder.client_disconnected(lonely.client_conn)
        recorder.client_disconnected(used.client_conn)
    connects = [e for e in journal.exchanges() if e.kind == "connect"]
    assert [(e.host, e.port, e.method) for e in connects] == [("db.example.org", 5432, "CONNECT")]


def test_tls_failure_names_the_tunnel_host(journal):
    recorder = Recorder(journal.journal, ControlReader(journal.path.parent))
    connect = make_flow(host="api.anthropic.com", method="CONNECT", path="")
    client = connect.client_conn
    client.error = "client does not trust the proxy's certificate"
    with taddons.context(recorder) as tctx:
        recorder.http_connect(connect)
        recorder.tls_failed_client(
            TlsData(conn=client, context=context.Context(client, tctx.options))
        )
        recorder.client_disconnected(client)
    [exchange] = journal.exchanges()
    assert exchange.kind == "tls_failed"
    assert exchange.host == "api.anthropic.com"
    assert "does not trust" in (exchange.error or "")


def test_open_flows_and_tunnels_are_written_at_shutdown(journal):
    recorder = Recorder(journal.journal, ControlReader(journal.path.parent))
    held = make_flow()
    tunnel = make_flow(host="quiet.example", method="CONNECT", path="")
    with taddons.context(recorder):
        recorder.request(held)
        recorder.http_connect(tunnel)
        recorder.done()
    exchanges = {e.kind: e for e in journal.exchanges()}
    assert exchanges["http"].error == "still open when the proxy stopped"
    assert exchanges["http"].response_status is None
    assert exchanges["connect"].host == "quiet.example"


def test_raw_tcp_is_recorded_with_its_messages(journal):
    recorder = Recorder(journal.journal, ControlReader(journal.path.parent))
    f = tflow.ttcpflow()
    f.server_conn.address = ("db.example.org", 5432)
    f.error = flow.Error(f"{BLOCKED_PREFIX}: no upstream connections (db.example.org:5432)")
    f.messages = [tcp.TCPMessage(True, b"\x00\x00\x00\x08startup")]
    with taddons.context(recorder):
        recorder.tcp_start(f)
        recorder.tcp_error(f)
    [exchange] = journal.exchanges()
    assert (exchange.kind, exchange.host, exchange.port) == ("tcp", "db.example.org", 5432)
    assert exchange.answered_by == "blocked"
    assert exchange.messages[0].content == b"\x00\x00\x00\x08startup"
    assert exchange.messages[0].from_client is True


def test_websocket_messages_are_kept_with_the_handshake(journal):
    recorder = Recorder(journal.journal, ControlReader(journal.path.parent))
    f = tflow.tflow(resp=True, ws=True)
    with taddons.context(recorder):
        recorder.request(f)
        recorder.response(f)  # deferred until the WebSocket ends
        assert journal.exchanges() == []
        recorder.websocket_end(f)
    [exchange] = journal.exchanges()
    assert [m.content for m in exchange.messages] == [m.content for m in f.websocket.messages]


def test_ids_are_unique_and_lines_are_json(journal):
    recorder = Recorder(journal.journal, ControlReader(journal.path.parent))
    with taddons.context(recorder):
        for _ in range(3):
            f = make_flow()
            recorder.request(f)
            f.response = http.Response.make(200)
            recorder.response(f)
    lines = journal.path.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2, 3]


def test_client_connected_without_a_local_socket_has_no_pid(journal):
    recorder = Recorder(journal.journal, ControlReader(journal.path.parent))
    client = tflow.tclient_conn()
    assert isinstance(client, connection.Client)
    recorder.client_connected(client)
    f = make_flow()
    f.client_conn = client
    recorder.request(f)
    f.response = http.Response.make(204)
    recorder.response(f)
    assert journal.exchanges()[0].client_pid is None


def _caught_by_the_seal(client: connection.Client, destination: tuple[str, int]) -> None:
    client.proxy_mode = ProxyMode.parse("tun:byoktest")
    client.sockname = destination


def test_http_caught_by_the_seal_is_marked_and_named_after_the_fake_dns_answer(journal):
    names = FakeNames()
    fake = str(names.address_for("o123.ingest.sentry.io"))
    recorder = Recorder(journal.journal, ControlReader(journal.path.parent), names)
    f = make_flow(host=fake)
    _caught_by_the_seal(f.client_conn, (fake, 443))
    f.client_conn.sni = "o123.ingest.sentry.io"
    with taddons.context(recorder):
        recorder.request(f)
        f.response = http.Response.make(200)
        recorder.response(f)
    [exchange] = journal.exchanges()
    assert (exchange.via, exchange.host, exchange.resolved_name) == (
        "tun",
        fake,
        "o123.ingest.sentry.io",
    )
    assert exchange.hosts == {"o123.ingest.sentry.io"}  # the fake address stands for the name


def test_raw_udp_caught_by_the_seal_keeps_its_real_destination_and_payload(journal):
    recorder = Recorder(journal.journal, ControlReader(journal.path.parent), FakeNames())
    f = tflow.tudpflow()
    _caught_by_the_seal(f.client_conn, ("198.51.100.7", 9999))
    f.metadata[DESTINATION] = ("198.51.100.7", 9999)
    f.server_conn.address = ("127.0.0.1", 40000)  # the seal sink
    f.messages = [udp.UDPMessage(True, b"exfil")]
    with taddons.context(recorder):
        recorder.udp_start(f)
        recorder.done()  # UDP has no end: written at shutdown, not as an error
    [exchange] = journal.exchanges()
    assert (exchange.kind, exchange.via, exchange.host, exchange.port) == (
        "udp",
        "tun",
        "198.51.100.7",
        9999,
    )
    assert exchange.resolved_name is None and exchange.error is None
    assert exchange.messages[0].content == b"exfil"


def test_tls_refused_on_the_seal_names_the_address_dialled(journal):
    recorder = Recorder(journal.journal, ControlReader(journal.path.parent), FakeNames())
    client = tflow.tclient_conn()
    _caught_by_the_seal(client, ("203.0.113.9", 443))
    client.sni = None
    client.error = "client does not trust the proxy's certificate"
    with taddons.context(recorder) as tctx:
        recorder.tls_failed_client(
            TlsData(conn=client, context=context.Context(client, tctx.options))
        )
    [exchange] = journal.exchanges()
    assert (exchange.kind, exchange.via, exchange.host, exchange.port) == (
        "tls_failed",
        "tun",
        "203.0.113.9",
        443,
    )

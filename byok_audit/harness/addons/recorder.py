"""Recorder: every attempt the target makes to reach the outside world becomes one :class:`Exchange`.

HTTP(S) requests are written when they finish (answered, failed or killed); a CONNECT that is never
followed by a request, a TLS handshake the client refused, and raw TCP/UDP are recorded too. Whatever is
still open at shutdown is written with an error, so nothing the proxy saw is lost. Flows caught by
sealed egress (the TUN device) are marked ``via="tun"`` and carry the name the fake DNS gave their
address for.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from mitmproxy import connection, http, tcp, tls, udp
from mitmproxy.proxy.mode_specs import TunMode

from byok_audit.harness.addons.fake_dns import FakeNames
from byok_audit.harness.control import ControlReader
from byok_audit.harness.journal import Journal
from byok_audit.harness.pidmap import client_pid

ANSWERED_BY = "byok_answered_by"
FAULT = "byok_fault"
BLOCKED_PREFIX = "blocked by byok-audit"
#: Where a TUN flow was going before the seal sink took it over (its ``server_conn.address``).
DESTINATION = "byok_destination"


def _text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def headers_of(headers: http.Headers) -> list[tuple[str, str]]:
    """Header fields in their original order and case."""
    return [(_text(k), _text(v)) for k, v in headers.fields]


def _addr(address: Any) -> str | None:
    return f"{address[0]}:{address[1]}" if address else None


def client_fields(
    client: connection.Client, pids: dict[str, int | None], names: FakeNames | None = None
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "client_addr": _addr(client.peername),
        "client_pid": pids.get(client.id),
        "sni": client.sni,
        "tls": client.tls_established,
    }
    if isinstance(client.proxy_mode, TunMode):
        fields["via"] = "tun"
        if names is not None and client.sockname:
            fields["resolved_name"] = names.name_of(str(client.sockname[0]))
    return fields


def http_fields(
    flow: http.HTTPFlow, pids: dict[str, int | None], names: FakeNames | None = None
) -> dict[str, Any]:
    request = flow.request
    target = urlsplit(request.path)
    fields: dict[str, Any] = {
        "kind": "http",
        "started": request.timestamp_start,
        "ended": time.time(),
        **client_fields(flow.client_conn, pids, names),
        "scheme": request.scheme,
        "host": request.host,
        "host_header": request.host_header,
        "port": request.port,
        "method": request.method,
        "path": target.path,
        "query": target.query,
        "http_version": request.http_version,
        "request_headers": headers_of(request.headers),
        "request_body": request.raw_content or b"",
        "answered_by": flow.metadata.get(ANSWERED_BY, "none"),
        "fault": flow.metadata.get(FAULT),
    }
    if flow.response is not None:
        fields["response_status"] = flow.response.status_code
        fields["response_headers"] = headers_of(flow.response.headers)
        fields["response_body"] = flow.response.raw_content or b""
    if flow.error is not None:
        fields["error"] = flow.error.msg
        if BLOCKED_PREFIX in flow.error.msg:
            fields["answered_by"] = "blocked"
    if flow.websocket is not None:
        fields["messages"] = [
            {"from_client": m.from_client, "content": m.content, "timestamp": m.timestamp}
            for m in flow.websocket.messages
        ]
    return fields


class Recorder:
    def __init__(
        self, journal: Journal, control: ControlReader, names: FakeNames | None = None
    ) -> None:
        self.journal = journal
        self.control = control
        self.names = names
        self._pids: dict[str, int | None] = {}
        self._connects: dict[str, list[http.HTTPFlow]] = {}
        self._open: dict[str, http.HTTPFlow | tcp.TCPFlow | udp.UDPFlow] = {}

    def client_connected(self, client: connection.Client) -> None:
        ip, port = client.peername[:2]
        server_ip, listen_port = client.sockname[:2] if client.sockname else ("", 0)
        hints = self.control.current().pid_hints
        self._pids[client.id] = (
            client_pid(ip, port, listen_port, hints, server_ip=str(server_ip))
            if listen_port and client.transport_protocol == "tcp"
            else None
        )

    def client_disconnected(self, client: connection.Client) -> None:
        self._flush_connects(client.id, "client closed the tunnel without a request")
        self._pids.pop(client.id, None)

    def http_connect(self, flow: http.HTTPFlow) -> None:
        self._connects.setdefault(flow.client_conn.id, []).append(flow)

    def request(self, flow: http.HTTPFlow) -> None:
        self._connects.pop(flow.client_conn.id, None)  # the tunnel carried a request
        self._open[flow.id] = flow

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is None:  # a WebSocket is written when it ends
            self._finish(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._finish(flow)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        self._finish(flow)

    def tls_failed_client(self, data: tls.TlsData) -> None:
        client = data.context.client
        connects = self._connects.pop(client.id, [])
        if connects:
            host, port = connects[0].request.host, connects[0].request.port
        elif isinstance(client.proxy_mode, TunMode) and client.sockname:
            host, port = str(client.sockname[0]), int(client.sockname[1])
        else:
            host, port = "", 0
        self.journal.write(
            kind="tls_failed",
            started=client.timestamp_start,
            ended=time.time(),
            **client_fields(client, self._pids, self.names),
            host=host or (client.sni or ""),
            port=port,
            error=data.conn.error or "TLS handshake with the client failed",
        )

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        self._connects.pop(flow.client_conn.id, None)
        self._open[flow.id] = flow

    def tcp_end(self, flow: tcp.TCPFlow) -> None:
        self._finish(flow)

    def tcp_error(self, flow: tcp.TCPFlow) -> None:
        self._finish(flow)

    def udp_start(self, flow: udp.UDPFlow) -> None:
        self._open[flow.id] = flow

    def udp_end(self, flow: udp.UDPFlow) -> None:
        self._finish(flow)

    def udp_error(self, flow: udp.UDPFlow) -> None:
        self._finish(flow)

    def done(self) -> None:
        for flow in list(self._open.values()):
            self._finish(flow, incomplete=True)
        for client_id in list(self._connects):
            self._flush_connects(client_id, "tunnel still open at shutdown")
        self.journal.close()

    def _finish(
        self, flow: http.HTTPFlow | tcp.TCPFlow | udp.UDPFlow, *, incomplete: bool = False
    ) -> None:
        if self._open.pop(flow.id, None) is None:
            return
        if isinstance(flow, tcp.TCPFlow | udp.UDPFlow):
            fields = self._stream_fields(flow)
        else:
            fields = http_fields(flow, self._pids, self.names)
        # UDP has no end of its own: a datagram flow still open at shutdown is not an error.
        unanswered = fields.get("error") is None and fields.get("response_status") is None
        if incomplete and unanswered and not isinstance(flow, udp.UDPFlow):
            fields["error"] = "still open when the proxy stopped"
        self.journal.write(**fields)

    def _stream_fields(self, flow: tcp.TCPFlow | udp.UDPFlow) -> dict[str, Any]:
        host, port = flow.metadata.get(DESTINATION) or flow.server_conn.address or ("", 0)
        return {
            "kind": "tcp" if isinstance(flow, tcp.TCPFlow) else "udp",
            "started": flow.timestamp_created,
            "ended": time.time(),
            **client_fields(flow.client_conn, self._pids, self.names),
            "host": host,
            "port": port,
            "answered_by": "blocked" if flow.error else "none",
            "error": flow.error.msg if flow.error else None,
            "messages": [
                {"from_client": m.from_client, "content": m.content, "timestamp": m.timestamp}
                for m in flow.messages
            ],
        }

    def _flush_connects(self, client_id: str, note: str) -> None:
        for flow in self._connects.pop(client_id, []):
            self.journal.write(
                kind="connect",
                started=flow.request.timestamp_start,
                ended=time.time(),
                **client_fields(flow.client_conn, self._pids, self.names),
                host=flow.request.host,
                port=flow.request.port,
                method="CONNECT",
                http_version=flow.request.http_version,
                request_headers=headers_of(flow.request.headers),
                error=note,
            )

"""SealSink: raw TCP and UDP that went around the proxy is captured, then dropped.

Under sealed egress mitmproxy receives the target's direct connections on its TUN device. HTTP(S) is
answered like on the proxy path (mock provider, sink); anything else becomes a raw TCP or UDP flow, and
mitmproxy opens the upstream side before it relays the first byte, so refusing that connection (the
Blocker) would lose what the target sent. Instead the flow is pointed at two discard servers in this
process, on loopback: the client's bytes then reach ``tcp_message``/``udp_message`` and the recorder,
and go no further. The TCP sink hangs up after a short silence or 1 MiB, so the flow ends and is
written while the audit runs.
"""

from __future__ import annotations

import asyncio
import contextlib

from mitmproxy import tcp, udp
from mitmproxy.proxy.mode_specs import TunMode

from byok_audit.harness.addons.recorder import DESTINATION

IDLE_SECONDS = 1.0
MAX_BYTES = 1 << 20


async def _discard(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    received = 0
    with contextlib.suppress(TimeoutError, ConnectionError):
        while received < MAX_BYTES:
            chunk = await asyncio.wait_for(reader.read(65536), IDLE_SECONDS)
            if not chunk:
                break
            received += len(chunk)
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


class SealSink:
    def __init__(self) -> None:
        self.addresses: set[tuple[str, int]] = set()
        self._tcp: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self.tcp_address: tuple[str, int] | None = None
        self.udp_address: tuple[str, int] | None = None

    async def running(self) -> None:
        """Listen before Ready announces the proxy: the first TUN flow may follow at once."""
        self._tcp = await asyncio.start_server(_discard, "127.0.0.1", 0)
        self.tcp_address = self._tcp.sockets[0].getsockname()[:2]
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
        )
        self.udp_address = self._udp.get_extra_info("sockname")[:2]
        self.addresses = {self.tcp_address, self.udp_address}

    def allowed(self, address: tuple[str, int] | None) -> bool:
        """The only upstream connections the Blocker lets through: to these discard servers."""
        return address is not None and tuple(address[:2]) in self.addresses

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        self._redirect(flow, self.tcp_address)

    def udp_start(self, flow: udp.UDPFlow) -> None:
        self._redirect(flow, self.udp_address)

    @staticmethod
    def _redirect(flow: tcp.TCPFlow | udp.UDPFlow, sink: tuple[str, int] | None) -> None:
        if sink is None or not isinstance(flow.client_conn.proxy_mode, TunMode):
            return
        flow.metadata[DESTINATION] = flow.server_conn.address
        flow.server_conn.address = sink

    def done(self) -> None:
        if self._tcp is not None:
            self._tcp.close()
        if self._udp is not None:
            self._udp.close()

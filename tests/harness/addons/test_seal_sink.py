from __future__ import annotations

import asyncio

from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import tflow

from byok_audit.harness.addons.recorder import DESTINATION
from byok_audit.harness.addons.seal_sink import SealSink


def test_raw_flows_caught_by_the_tun_device_go_to_the_discard_sinks():
    async def scenario() -> None:
        sink = SealSink()
        await sink.running()
        tcp_flow, udp_flow = tflow.ttcpflow(), tflow.tudpflow()
        for flow, destination in (
            (tcp_flow, ("198.51.100.8", 5432)),
            (udp_flow, ("198.51.100.7", 9)),
        ):
            flow.client_conn.proxy_mode = ProxyMode.parse("tun:byoktest")
            flow.server_conn.address = destination
        sink.tcp_start(tcp_flow)
        sink.udp_start(udp_flow)
        assert tcp_flow.metadata[DESTINATION] == ("198.51.100.8", 5432)
        assert udp_flow.metadata[DESTINATION] == ("198.51.100.7", 9)
        assert sink.allowed(tcp_flow.server_conn.address)
        assert sink.allowed(udp_flow.server_conn.address)
        assert tcp_flow.server_conn.address[0] == "127.0.0.1"
        assert not sink.allowed(("198.51.100.8", 5432))
        sink.done()

    asyncio.run(scenario())


def test_flows_through_the_regular_proxy_are_left_alone():
    async def scenario() -> None:
        sink = SealSink()
        await sink.running()
        flow = tflow.ttcpflow()  # a CONNECT tunnel on the regular proxy
        before = flow.server_conn.address
        sink.tcp_start(flow)
        assert flow.server_conn.address == before and DESTINATION not in flow.metadata
        sink.done()

    asyncio.run(scenario())


def test_the_tcp_sink_reads_then_hangs_up():
    async def scenario() -> None:
        sink = SealSink()
        await sink.running()
        reader, writer = await asyncio.open_connection(*sink.tcp_address)
        writer.write(b"\x00hello")
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # nothing answered, then closed
        writer.close()
        sink.done()

    asyncio.run(scenario())

"""FakeDns: answers every DNS query the target sends itself (sealed egress), and records it.

A target that honours the proxy never resolves a name: the proxy is told the host name. So under sealed
egress any query that arrives is the target looking something up on its own, usually just before
connecting around the proxy. Each name gets its own address from 198.18.0.0/15 (the benchmarking range,
never routed), and the name is remembered so a later connection to that address can be labelled with it
(``Exchange.resolved_name``). Nothing is ever forwarded to a real name server.

It must run before mitmproxy's default addons: DnsResolver would otherwise act on the query first.
"""

from __future__ import annotations

import ipaddress
import time

from mitmproxy import dns
from mitmproxy.net.dns import types

from byok_audit.harness.journal import Journal

FAKE_NETWORK = ipaddress.IPv4Network("198.18.0.0/15")


class FakeNames:
    """Name ↔ fake address, one address per name for the whole run."""

    def __init__(self) -> None:
        self._by_name: dict[str, ipaddress.IPv4Address] = {}
        self._by_address: dict[str, str] = {}
        self._next = int(FAKE_NETWORK.network_address) + 1

    def address_for(self, name: str) -> ipaddress.IPv4Address:
        key = name.lower().rstrip(".")
        address = self._by_name.get(key)
        if address is None:
            if self._next >= int(FAKE_NETWORK.broadcast_address):
                raise OverflowError("the fake DNS range 198.18.0.0/15 is used up")
            address = ipaddress.IPv4Address(self._next)
            self._next += 1
            self._by_name[key] = address
            self._by_address[str(address)] = key
        return address

    def name_of(self, address: str) -> str | None:
        """The name a fake address was handed out for (None for any other address)."""
        return self._by_address.get(address.removeprefix("::ffff:"))


class FakeDns:
    def __init__(self, journal: Journal, names: FakeNames) -> None:
        self.journal = journal
        self.names = names

    def dns_request(self, flow: dns.DNSFlow) -> None:
        request = flow.request
        answers = []
        for question in request.questions:
            if question.type == types.A:
                answers.append(
                    dns.ResourceRecord.A(question.name, self.names.address_for(question.name))
                )
            # AAAA and every other type: an empty NOERROR answer, so clients fall back to the A record.
        flow.response = request.succeed(answers)
        server = flow.client_conn.sockname or ("", 0)
        peer = flow.client_conn.peername
        for question in request.questions or [dns.Question("", 0, 0)]:
            given = [str(a) for a in answers if a.name == question.name]
            self.journal.write(
                kind="dns",
                via="tun",
                started=request.timestamp or time.time(),
                ended=time.time(),
                client_addr=f"{peer[0]}:{peer[1]}" if peer else None,
                scheme="dns",
                host=str(server[0]),
                port=int(server[1]),
                method=types.to_str(question.type),
                path=question.name,
                response_body=", ".join(given).encode(),
                answered_by="sink",
            )

"""Sealed egress for real: a fresh network namespace, mitmdump's TUN device, traffic that ignores the
proxy. Everything runs inside namespaces the tests create; nothing can reach the host's network."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from byok_audit.errors import HarnessError
from byok_audit.harness.seal import Seal, loopback_nameservers, seal_problem

PROBLEM = seal_problem()
needs_seal = pytest.mark.skipif(
    PROBLEM is not None, reason=f"sealed egress cannot run here: {PROBLEM}"
)
REPO = Path(__file__).resolve().parents[2]


def current_namespace() -> str:
    return os.readlink("/proc/thread-self/ns/net")


def holders(namespace: str) -> list[int]:
    """Processes (any thread) in the network namespace ``namespace``."""
    found = set()
    for task in Path("/proc").glob("[0-9]*/task/[0-9]*/ns/net"):
        with contextlib.suppress(OSError):
            if os.readlink(task) == namespace:
                found.add(int(task.parts[2]))
    return sorted(found)


def dns_query(name: str) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack("!6H", 7, 0x0100, 1, 0, 0, 0) + labels + b"\0\0\1\0\1"


@pytest.fixture
def sealed(tmp_path: Path):
    """A seal entered on this thread with its proxy started and engaged; left afterwards."""
    before = current_namespace()
    seal = Seal("t" + os.urandom(4).hex()).enter()
    proxy = seal.proxy(tmp_path / "proxy")
    try:
        proxy.start()
        seal.engage(proxy)
        yield seal, proxy
    finally:
        proxy.stop()
        seal.leave()
    assert current_namespace() == before


@needs_seal
def test_traffic_around_the_proxy_is_recorded_answered_or_dropped_never_forwarded(sealed):
    seal, proxy = sealed
    ca = ssl.create_default_context(cafile=str(proxy.ca_cert_path))
    with httpx.Client(trust_env=False, verify=ca, timeout=5) as direct:
        telemetry = direct.post("https://o123.ingest.sentry.io/api/1/envelope/", content=b"hi")
        plain = direct.get("http://203.0.113.9:8080/collect?x=1")
    with socket.create_connection(("198.51.100.8", 5432), timeout=5) as raw:
        raw.sendall(b"\x00\x00\x00\x08startup")
        raw.shutdown(socket.SHUT_WR)
        assert raw.recv(100) == b""  # nothing answers a raw connection
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(5)
        udp.sendto(b"exfil-datagram", ("198.51.100.7", 9999))
        udp.sendto(dns_query("c2.example"), ("203.0.113.53", 53))
        reply = udp.recv(512)
    with httpx.Client(proxy=proxy.url, verify=ca, trust_env=False, timeout=5) as proxied:
        proxied.get("https://polite.example/")
    seal.verify(proxy, "end")
    proxy.stop()

    assert telemetry.json() == {"ok": True} and plain.json() == {"ok": True}
    assert reply[-4:] == socket.inet_aton("198.18.0.2")  # the second name the fake DNS saw
    exchanges = seal.without_probes(proxy.exchanges())
    by = {(e.kind, e.path or e.host): e for e in exchanges if e.method != "AAAA"}
    lookup = by[("dns", "o123.ingest.sentry.io")]  # the system resolver, via the TUN device
    assert lookup.via == "tun" and lookup.response_body == b"198.18.0.1"
    call = by[("http", "/api/1/envelope/")]
    assert (call.via, call.host, call.resolved_name, call.sni, call.answered_by) == (
        "tun",
        "198.18.0.1",
        "o123.ingest.sentry.io",
        "o123.ingest.sentry.io",
        "sink",
    )
    assert call.client_pid == os.getpid()  # found in the namespace's own socket table
    assert by[("http", "/collect")].host == "203.0.113.9"
    assert by[("dns", "c2.example")].host == "203.0.113.53"  # its own resolver
    tcp = by[("tcp", "198.51.100.8")]
    assert tcp.port == 5432 and tcp.messages[0].content == b"\x00\x00\x00\x08startup"
    datagram = by[("udp", "198.51.100.7")]
    assert datagram.via == "tun" and datagram.messages[0].content == b"exfil-datagram"
    assert by[("http", "/")].via == "proxy"  # the proxy's own port is still the proxy
    assert not [e for e in exchanges if e.host.startswith(("192.0.2.", "2001:db8:"))]
    assert not [e for e in exchanges if e.kind == "blocked"]
    assert seal.proven and "start and the end" in seal.describe()


@needs_seal
def test_the_seal_leaves_no_namespace_device_or_process_behind(tmp_path: Path):
    before = current_namespace()
    seal = Seal("gone" + os.urandom(3).hex()).enter()
    handle = os.open("/proc/thread-self/ns/net", os.O_RDONLY)  # only to look inside afterwards
    try:
        proxy = seal.proxy(tmp_path / "proxy").start()
        seal.engage(proxy)
        assert proxy.pid in holders(seal.namespace)
        devices = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        assert seal.tun in devices
        proxy.stop()
        seal.leave()
        assert current_namespace() == before
        assert holders(seal.namespace) == []
        inside = subprocess.run(
            ["nsenter", f"--net=/proc/self/fd/{handle}", "ip", "-o", "link"],
            capture_output=True,
            text=True,
            pass_fds=(handle,),
            check=True,
        ).stdout
        assert seal.tun not in inside and inside.count("\n") == 1  # only lo is left
    finally:
        os.close(handle)
        seal.leave()


@needs_seal
def test_a_seal_without_its_routes_is_never_claimed(tmp_path: Path):
    with Seal("nort" + os.urandom(3).hex()) as seal:
        proxy = seal.proxy(tmp_path / "proxy").start()
        try:
            with pytest.raises(HarnessError, match="could not be verified"):
                seal.verify(
                    proxy, "start", timeout=0.5
                )  # no default route: the probe never arrives
        finally:
            proxy.stop()
        assert not seal.proven


@needs_seal
def test_a_seal_is_driven_from_the_thread_that_entered_it(tmp_path: Path):
    with Seal("thr" + os.urandom(3).hex()) as seal:
        errors: list[BaseException] = []

        def elsewhere() -> None:
            try:
                seal.verify(None, "start")  # type: ignore[arg-type]
            except HarnessError as error:
                errors.append(error)

        worker = threading.Thread(target=elsewhere)
        worker.start()
        worker.join()
        assert "from the thread that sealed it" in str(errors[0])


def test_without_privileges_the_problem_is_named(tmp_path: Path):
    if os.geteuid() != 0:
        problem = seal_problem()
    else:
        code = "from byok_audit.harness.seal import seal_problem; print(seal_problem())"
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        problem = subprocess.run(
            [*as_nobody, sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
        ).stdout
    assert "sealed egress needs root" in problem
    assert "CAP_NET_ADMIN" in problem


def test_loopback_name_servers_are_found_in_resolv_conf(tmp_path: Path):
    conf = tmp_path / "resolv.conf"
    conf.write_text(
        "# generated\nnameserver 127.0.0.53\nnameserver 10.255.255.53\n"
        "nameserver ::1\nnameserver fe80::1%eth0\noptions edns0\nnameserver 127.0.0.53\n"
    )
    assert loopback_nameservers(conf) == ("127.0.0.53", "::1")
    assert loopback_nameservers(tmp_path / "missing") == ()

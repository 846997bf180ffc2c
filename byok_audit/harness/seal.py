"""Sealed egress: the whole audit in a fresh network namespace whose only ways out are loopback and
the proxy's TUN device, so a target that ignores HTTPS_PROXY is caught instead of unseen.

:meth:`Seal.enter` moves the *calling thread* into a new network namespace (``unshare(CLONE_NEWNET)``)
with only ``lo`` up; every process that thread starts afterwards (mitmdump, the target, ``ip``) and
every socket it opens (the driver's) lives there. The proxy is then started with a ``tun:`` mode, and
:meth:`Seal.engage` adds IPv4 and IPv6 default routes into that device: loopback (the proxy's regular
port, the target's API) stays local, anything else (direct TCP/UDP, the target's own DNS) arrives in
mitmproxy and is recorded as ``via="tun"``, answered locally or dropped, never forwarded.

The seal is only claimed when it is proven: a TCP probe with a nonce to a TEST-NET address, over IPv4
and IPv6, must come back out of the proxy's journal, at the start and again at the end of the run. The
probes' exchanges are left out of the evidence. :meth:`Seal.leave` moves the thread back; once the
proxy and the target have exited nothing holds the namespace, and the kernel removes it and the TUN
device.

Not covered: a target running as root can leave the namespace (``setns`` into another process's) or
move an interface in; Unix-domain sockets and the shared filesystem are not network egress and are not
isolated; a host database reached over TCP is unreachable from inside.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from byok_audit.errors import HarnessError
from byok_audit.harness.proxy import Proxy
from byok_audit.models.evidence import Exchange

CLONE_NEWNET = 0x40000000
_CAPS = {
    21: "CAP_SYS_ADMIN (to create a network namespace)",
    12: "CAP_NET_ADMIN (for the TUN device)",
}
PROBE_MAGIC = b"\x00byok-seal-probe "
PROBE_TIMEOUT = 10.0


def seal_problem() -> str | None:
    """Why sealed egress cannot run in this process, or None when it can."""
    if sys.platform != "linux":
        return "sealed egress needs Linux (network namespaces and a TUN device)"
    try:
        status = Path("/proc/self/status").read_text()
    except OSError as exc:
        return f"sealed egress cannot read the process's capabilities: {exc}"
    effective = next(
        (int(line.split()[1], 16) for line in status.splitlines() if line.startswith("CapEff:")), 0
    )
    missing = [name for bit, name in _CAPS.items() if not effective >> bit & 1]
    if missing:
        return (
            f"sealed egress needs root: this process lacks {' and '.join(missing)}; "
            "run byok-audit as root (in a container: --cap-add NET_ADMIN --cap-add SYS_ADMIN)"
        )
    if not os.path.exists("/dev/net/tun"):
        return (
            "sealed egress needs /dev/net/tun, which does not exist here "
            "(in a container: --device /dev/net/tun)"
        )
    if shutil.which("ip") is None:
        return "sealed egress needs the `ip` command (Debian/Ubuntu package iproute2)"
    return None


def loopback_nameservers(resolv_conf: Path = Path("/etc/resolv.conf")) -> tuple[str, ...]:
    """Name servers on loopback (systemd-resolved's 127.0.0.53, Docker's 127.0.0.11): queries to them
    stay on ``lo`` and never reach the TUN device, so the proxy must answer on those addresses too."""
    try:
        lines = resolv_conf.read_text().splitlines()
    except OSError:
        return ()
    found: list[str] = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                address = ipaddress.ip_address(parts[1].split("%")[0])
            except ValueError:
                continue
            if address.is_loopback and str(address) not in found:
                found.append(str(address))
    return tuple(found)


def _libc_call(name: str, *args: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}: {os.strerror(errno)}")


def ip(*args: str) -> None:
    """Run ``ip ARGS`` in the current thread's namespace; a failure is a HarnessError with its output."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise HarnessError(
            f"`ip {' '.join(args)}` failed: {done.stderr.strip() or done.returncode}"
        )


class Seal:
    """One sealed network namespace for one audit run (on one thread); see the module docstring."""

    def __init__(self, tag: str) -> None:
        #: Unique per run; Linux allows 15 characters in an interface name.
        self.tun = f"byok{tag}"[:15]
        self.dns_listen = loopback_nameservers()
        self.namespace = ""
        self.verified: list[str] = []
        self._probe_ids: set[int] = set()
        self._home: int | None = None
        self._thread: int | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def enter(self) -> Seal:
        """Move this thread into a fresh network namespace with only ``lo`` (up)."""
        problem = seal_problem()
        if problem:
            raise HarnessError(problem)
        if self._home is not None:
            raise HarnessError("the seal is already entered")
        self._home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _libc_call("unshare", CLONE_NEWNET)
        except OSError as exc:
            os.close(self._home)
            self._home = None
            raise HarnessError(f"cannot create a network namespace: {exc}") from None
        self._thread = threading.get_ident()
        self.namespace = os.readlink("/proc/thread-self/ns/net")
        try:
            ip("link", "set", "lo", "up")
        except BaseException:
            self.leave()
            raise
        return self

    def proxy(self, run_dir: Path) -> Proxy:
        """The proxy for this seal (not started): the regular port plus the TUN device and DNS."""
        return Proxy(run_dir, tun=self.tun, dns_listen=self.dns_listen)

    def engage(self, proxy: Proxy) -> None:
        """Route everything that is not loopback into the proxy's TUN device, then prove it."""
        self._same_thread()
        ip("route", "add", "default", "dev", self.tun)
        ip("-6", "route", "add", "default", "dev", self.tun)
        self.verify(proxy, "start")

    def verify(self, proxy: Proxy, moment: str, timeout: float = PROBE_TIMEOUT) -> None:
        """Send the IPv4 and IPv6 probes and wait until the proxy has recorded both via the TUN
        device; HarnessError if either does not arrive."""
        self._same_thread()
        # Ports 40000-49999: none that mitmproxy treats as special (DNS on 53 and 5353).
        probes = [
            (f"192.0.2.{secrets.randbelow(254) + 1}", 40000 + secrets.randbelow(10000)),
            (f"2001:db8::{secrets.randbelow(0xFFFF) + 1:x}", 40000 + secrets.randbelow(10000)),
        ]
        nonce = secrets.token_hex(8).encode()
        deadline = time.monotonic() + timeout
        for address in probes:
            _send_probe(address, PROBE_MAGIC + nonce, deadline)
        pending = set(probes)
        while True:
            for exchange in proxy.exchanges():
                if _is_probe(exchange, pending, nonce):
                    pending.discard((exchange.host, exchange.port))
                    self._probe_ids.add(exchange.id)
            if not pending:
                break
            if time.monotonic() > deadline:
                missing = ", ".join(_addr(a) for a in sorted(pending))
                raise HarnessError(
                    f"sealed egress could not be verified at the {moment} of the run: the probe to "
                    f"{missing} never reached the proxy's TUN device {self.tun}"
                )
            time.sleep(0.02)
        self.verified.append(moment)

    def leave(self) -> None:
        """Move this thread back to the namespace it came from. Safe to call twice."""
        home, self._home = self._home, None
        if home is None:
            return
        try:
            self._same_thread()
            _libc_call("setns", home, CLONE_NEWNET)
        except OSError as exc:
            raise HarnessError(f"cannot return to the original network namespace: {exc}") from None
        finally:
            os.close(home)

    def __enter__(self) -> Seal:
        return self.enter()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.leave()

    # -- evidence ---------------------------------------------------------------------------------

    @property
    def proven(self) -> bool:
        """Verified at the start and at the end of the run."""
        return self.verified == ["start", "end"]

    def without_probes(self, exchanges: Iterable[Exchange]) -> list[Exchange]:
        """The target's evidence: every exchange except the seal's own probes."""
        return [e for e in exchanges if e.id not in self._probe_ids]

    def describe(self) -> str:
        dns = f"; DNS answered on {', '.join(self.dns_listen)}" if self.dns_listen else ""
        return (
            f"network namespace {self.namespace} with only lo and the TUN device {self.tun} "
            f"(IPv4 and IPv6 default routes into the proxy){dns}; TCP probes to "
            f"TEST-NET addresses were recorded via the TUN device at the "
            f"{' and the '.join(self.verified) or 'no point'} of the run"
        )

    def _same_thread(self) -> None:
        if self._thread is not None and self._thread != threading.get_ident():
            raise HarnessError("a sealed audit must be driven from the thread that sealed it")


def _addr(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _send_probe(address: tuple[str, int], payload: bytes, deadline: float) -> None:
    """Connect, send, half-close, wait for the sink to hang up. Retried until the deadline: a fresh
    TUN device's IPv6 link-local address may still be tentative for a moment."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    while True:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                sock.connect(address)
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
                with contextlib.suppress(OSError):
                    while sock.recv(4096):
                        pass
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise HarnessError(
                    f"sealed egress could not be verified: the probe to {_addr(address)} "
                    f"failed: {exc}"
                ) from None
            time.sleep(0.05)


def _is_probe(exchange: Exchange, pending: set[tuple[str, int]], nonce: bytes) -> bool:
    if (
        exchange.kind != "tcp"
        or exchange.via != "tun"
        or (exchange.host, exchange.port) not in pending
    ):
        return False
    return nonce in b"".join(m.content for m in exchange.messages if m.from_client)

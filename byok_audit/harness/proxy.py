"""The parent side of the intercepting proxy: start a mitmdump child, steer it, read what it saw.

Each :class:`Proxy` is its own process with its own confdir and CA copy, listening on an ephemeral
loopback port, so many audits can run side by side and a crash in native mitmproxy code only ends one.
Under sealed egress it also serves a TUN device (``tun=``) and DNS on loopback name-server addresses
(``dns_listen=``); see :mod:`byok_audit.harness.seal`.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from importlib.metadata import version
from pathlib import Path
from types import TracebackType

from byok_audit.errors import ProxyError
from byok_audit.harness.control import (
    EXCHANGES_FILE,
    FAULT_KINDS,
    READY_FILE,
    ControlState,
    Fault,
    IssuedKey,
)
from byok_audit.harness.journal import read_journal
from byok_audit.models.canary import Provider
from byok_audit.models.evidence import Exchange

CA_CERT_FILE = "mitmproxy-ca-cert.pem"
ENGINE = f"mitmproxy {version('mitmproxy')}"
_PROXY_ENV = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}

_template_lock = threading.Lock()
_template_dir: Path | None = None
_live: set[Proxy] = set()


def _ca_template() -> Path:
    """A CA generated once per process; each proxy gets a copy (generating costs 20–200 ms)."""
    global _template_dir
    with _template_lock:
        if _template_dir is None:
            from mitmproxy.certs import CertStore
            from mitmproxy.options import CONF_BASENAME, KEY_SIZE

            path = Path(tempfile.mkdtemp(prefix="byok-ca-template-"))
            atexit.register(shutil.rmtree, path, True)
            CertStore.create_store(path, CONF_BASENAME, KEY_SIZE)
            _template_dir = path
        return _template_dir


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Proxy:
    """One mitmdump child process with our addons. Use as a context manager, or start()/stop()."""

    def __init__(
        self,
        run_dir: Path | None = None,
        *,
        start_timeout: float = 30.0,
        stop_timeout: float = 5.0,
        tun: str | None = None,
        dns_listen: tuple[str, ...] = (),
    ) -> None:
        self._given_dir = run_dir
        self.tun = tun
        self.dns_listen = dns_listen
        self.run_dir: Path | None = None
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.port = 0
        self.pid: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._state = ControlState()
        self._next_fault = 1
        self._final: list[Exchange] | None = None
        self.started_at: float | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> Proxy:
        if self._process is not None:
            raise ProxyError("proxy already started")
        run_dir = self._given_dir or Path(tempfile.mkdtemp(prefix="byok-proxy-"))
        run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir = run_dir
        try:
            self._spawn(run_dir)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, run_dir: Path) -> None:
        confdir = run_dir / "confdir"
        shutil.copytree(_ca_template(), confdir, dirs_exist_ok=True)
        self._state.write(run_dir)
        log = run_dir / "mitmdump.log"
        modes = [part for mode in self._modes() for part in ("--mode", mode)]
        command = [*self._command(run_dir, confdir), *modes]
        env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_ENV}
        with log.open("wb") as out:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.pid = self._process.pid
        self.started_at = time.time()
        _live.add(self)
        ready = run_dir / READY_FILE
        deadline = time.monotonic() + self.start_timeout
        while not ready.exists():
            code = self._process.poll()
            if code is not None:
                raise ProxyError(
                    f"mitmdump exited with code {code} before listening:\n{_tail(log)}"
                )
            if time.monotonic() > deadline:
                raise ProxyError(
                    f"mitmdump did not start listening within {self.start_timeout:g}s:\n{_tail(log)}"
                )
            time.sleep(0.02)
        info = json.loads(ready.read_text())
        self.port = int(info["listen"][0][1])

    def _modes(self) -> list[str]:
        """The regular proxy first (ready.json's first address is its port). Every mode names its
        address: mitmproxy would count a TUN mode as one more server on the default listen address."""
        modes = ["regular@127.0.0.1:0"]
        if self.tun:
            modes.append(f"tun:{self.tun}")
        modes += [f"dns@{address}:53" for address in self.dns_listen]
        return modes

    @staticmethod
    def _command(run_dir: Path, confdir: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "byok_audit.harness.mitm_main",
            "--run-dir",
            str(run_dir),
            "-q",
            "--set",
            f"confdir={confdir}",
            "--set",
            "connection_strategy=lazy",
        ]

    def stop(self) -> None:
        """SIGTERM (mitmdump runs its done hooks and flushes the journal), then SIGKILL if it hangs."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                try:
                    process.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            # mitmproxy never forks, but its session may hold helpers; leave nothing behind.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        _live.discard(self)
        if self.run_dir is not None and self._final is None:
            self._final = read_journal(self.run_dir / EXCHANGES_FILE)
            if self._given_dir is None:
                shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> Proxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ca_cert_path(self) -> Path:
        """The CA certificate (no key) a target must trust: put it in SSL_CERT_FILE and friends."""
        if self.run_dir is None:
            raise ProxyError("proxy not started")
        return self.run_dir / "confdir" / CA_CERT_FILE

    # -- control ----------------------------------------------------------------------------------

    def issue_keys(self, *keys: str, provider: Provider = "anthropic") -> None:
        """Make these keys valid at the mock provider (every other key gets the provider's 401)."""
        known = {(k.value, k.provider) for k in self._state.keys}
        new = [IssuedKey(value=k, provider=provider) for k in keys if (k, provider) not in known]
        self._update(keys=[*self._state.keys, *new])

    def hint_client_pids(self, *pids: int) -> None:
        """Processes (the target) to check first when finding which process opened a connection."""
        self._update(pid_hints=[*self._state.pid_hints, *pids])

    def set_response_canary(self, value: str) -> None:
        self._update(response_canary=value)

    def inject_fault(
        self, kind: str, count: int = 1, delay: float = 0.0, provider: Provider | None = None
    ) -> int:
        """Queue a fault for the next ``count`` generation calls; returns its id (see Exchange.fault)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
        fault = Fault(id=self._next_fault, kind=kind, count=count, delay=delay, provider=provider)  # type: ignore[arg-type]
        self._next_fault += 1
        self._update(faults=[*self._state.faults, fault])
        return fault.id

    def clear_faults(self) -> None:
        self._update(faults=[])

    def _update(self, **changes: object) -> None:
        self._state = self._state.model_copy(update=changes)
        if self.run_dir is not None and self._process is not None:
            self._state.write(self.run_dir)

    # -- evidence ---------------------------------------------------------------------------------

    def exchanges(self) -> list[Exchange]:
        """Exchanges completed so far; after stop(), every exchange including ones open at shutdown."""
        if self._final is not None:
            return list(self._final)
        if self.run_dir is None:
            return []
        return read_journal(self.run_dir / EXCHANGES_FILE)


@atexit.register
def _stop_all() -> None:
    for proxy in list(_live):
        proxy.stop()

"""Starting and stopping the target platform as a real child process, behind the audit's proxy.

The target runs in its own process group with the proxy and the audit CA in its environment, its
stdout/stderr go to files in the workdir, and it is always stopped (SIGTERM to the group, then
SIGKILL), even when the audit fails half-way or the interpreter exits.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import httpx

from byok_audit.errors import TargetError, TargetExited, TargetNotReady
from byok_audit.models.evidence import ProcessRecord

_PROXY_NAMES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
_CA_NAMES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
_live: set[TargetProcess] = set()


def proxy_env(proxy_url: str, ca_cert: Path) -> dict[str, str]:
    """What makes common HTTP stacks (Python, Node, curl) go through the proxy and trust its CA."""
    env = {}
    for name in _PROXY_NAMES:
        env[name] = env[name.lower()] = proxy_url
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["NODE_USE_ENV_PROXY"] = "1"
    for name in _CA_NAMES:
        env[name] = str(ca_cert)
    return env


def _tail(path: Path, redact: Callable[[str], str], lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no output captured)"
    return redact("\n".join(text.splitlines()[-lines:])) or "(empty)"


class TargetProcess:
    """One target child process: start, wait until ready, restart, stop; never left running."""

    def __init__(
        self,
        command: list[str],
        *,
        env: dict[str, str],
        cwd: Path,
        output_dir: Path,
        ready_url: str | None = None,
        ready_timeout: float = 30.0,
        stop_timeout: float = 10.0,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.command = command
        self.env = env
        self.cwd = cwd
        self.ready_url = ready_url
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.redact = redact
        self.stdout_path = output_dir / "target.stdout"
        self.stderr_path = output_dir / "target.stderr"
        self.record = ProcessRecord(command=command)
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> TargetProcess:
        """Start and, if there is a readiness URL, wait for it; raises TargetError on failure."""
        if self._process is not None:
            raise TargetError("target already started")
        self._stopping = False
        try:
            with self.stdout_path.open("ab") as out, self.stderr_path.open("ab") as err:
                self._process = subprocess.Popen(
                    self.command,
                    cwd=self.cwd,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
        except OSError as exc:
            raise TargetError(f"cannot start target {self.command[0]!r}: {exc}") from None
        _live.add(self)
        self.record.pid = self._process.pid
        self.record.started = time.time()
        self.record.ended = self.record.exit_code = None
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self) -> None:
        if self.ready_url is None:
            self.check_alive()
            return
        deadline = time.monotonic() + self.ready_timeout
        with httpx.Client(trust_env=False, timeout=1.0) as client:
            while True:
                self.check_alive()
                try:
                    if client.get(self.ready_url).status_code < 500:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TargetNotReady(
                        f"target did not answer {self.ready_url} within {self.ready_timeout:g}s; "
                        f"last stderr lines:\n{_tail(self.stderr_path, self.redact)}"
                    )
                time.sleep(0.1)

    def check_alive(self) -> None:
        """Raise TargetExited (exit code + last stderr lines, redacted) if the target has exited."""
        if self._process is None:
            raise TargetExited("target is not running")
        code = self._process.poll()
        if code is None:
            return
        self._note_exit(code)
        raise TargetExited(
            f"target exited with code {code}; last stderr lines:\n"
            f"{_tail(self.stderr_path, self.redact)}"
        )

    def stop(self) -> ProcessRecord:
        """SIGTERM the group, wait, SIGKILL what is left. Safe to call twice."""
        process = self._process
        if process is None:
            return self.record
        self._stopping = process.poll() is None
        if self._stopping:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # Children the target spawned share its group: none may outlive the audit.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        _wait_group_gone(process.pid, self.stop_timeout)
        self._note_exit(process.returncode)
        self._process = None
        _live.discard(self)
        return self.record

    def restart(self) -> TargetProcess:
        """Stop and start again with the same command and environment."""
        self.stop()
        self.record.restarts += 1
        return self.start()

    def _note_exit(self, code: int) -> None:
        if self.record.ended is None:
            self.record.ended = time.time()
            self.record.exit_code = code
            if not self._stopping:
                self.record.crashed = True

    def __enter__(self) -> TargetProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group ``pgid``, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def _wait_group_gone(pgid: int, timeout: float) -> None:
    """SIGKILL is delivered asynchronously: wait until the group has really emptied."""
    deadline = time.monotonic() + timeout
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.01)


@atexit.register
def _stop_all() -> None:
    for target in list(_live):
        target.stop()

"""The parent→proxy control channel: a JSON file the addons re-read when it changes.

The proxy runs in a child process, so the audit tells it which keys are valid, which canary to put in
replies and which faults to inject by rewriting ``control.json`` atomically (tmp file + ``os.replace``).
The addon notices a new file by its inode/mtime/size and reloads it; a fault's use count lives in the
addon, keyed by the fault's id, so a rewrite never re-arms a fault that was already spent.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from byok_audit.models.base import Strict
from byok_audit.models.canary import Provider
from byok_audit.models.steps import FaultKind

CONTROL_FILE = "control.json"
EXCHANGES_FILE = "exchanges.jsonl"
READY_FILE = "ready.json"

FAULT_KINDS: tuple[str, ...] = tuple(FaultKind)


class IssuedKey(Strict):
    value: str
    provider: Provider


class Fault(Strict):
    """One queued fault: applied to the next ``count`` generation calls (messages / chat completions)."""

    id: int
    kind: FaultKind
    count: int = Field(default=1, ge=1)
    delay: float = Field(default=0.0, ge=0)
    provider: Provider | None = None


class ControlState(Strict):
    keys: list[IssuedKey] = []
    response_canary: str = "BYOK-mock-reply"
    faults: list[Fault] = []
    #: Processes (the target) whose sockets are looked up first when mapping a client to a pid.
    pid_hints: list[int] = []

    def key_is_valid(self, value: str | None, provider: Provider) -> bool:
        return value is not None and any(
            k.value == value and k.provider == provider for k in self.keys
        )

    def write(self, run_dir: Path) -> None:
        """Atomic: readers see the old file or the new one, never half of either."""
        target = run_dir / CONTROL_FILE
        tmp = run_dir / f".{CONTROL_FILE}.{os.getpid()}.tmp"
        tmp.write_text(self.model_dump_json(), encoding="utf-8")
        os.replace(tmp, target)


class ControlReader:
    """Addon side: the current control state, reloaded only when the file changed."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / CONTROL_FILE
        self._stamp: tuple[int, int, int] | None = None
        self._state = ControlState()

    def current(self) -> ControlState:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return self._state
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._state = ControlState.model_validate_json(self.path.read_bytes())
            self._stamp = stamp
        return self._state

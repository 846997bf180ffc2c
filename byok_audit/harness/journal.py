"""The exchange journal: one JSON line per :class:`Exchange`, written by the proxy, read by the audit.

Line-buffered so the parent can read completed exchanges while the proxy runs; a torn last line (the
proxy was killed mid-write) is skipped, never fatal.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO, Any

from byok_audit.models.evidence import Exchange


class Journal:
    """Assigns exchange ids in write order and appends each exchange as one JSON line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._next_id = 1
        # Created at once: an empty journal means "nothing went out", a missing one "never ran".
        self._file: IO[str] | None = path.open("a", encoding="utf-8", buffering=1)

    def write(self, **fields: Any) -> Exchange:
        fields.setdefault("started", time.time())
        exchange = Exchange(id=self._next_id, **fields)
        self._next_id += 1
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8", buffering=1)
        self._file.write(exchange.model_dump_json() + "\n")
        return exchange

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_journal(path: Path) -> list[Exchange]:
    """Every complete exchange line in ``path`` (none if the file does not exist yet)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    exchanges = []
    for line in text.splitlines():
        if line.strip():
            try:
                exchanges.append(Exchange.model_validate_json(line))
            except ValueError:
                continue  # a torn final line from a killed proxy
    return exchanges

"""Scan a byte stream of any size in flat memory, yielding literal matches in order with their context.

The stream arrives in chunks; the buffer keeps only a tail of ``longest literal + 2 * context`` bytes
between chunks, so a needle straddling a chunk boundary is still found once, and each match comes with
``context`` bytes either side (for confirming key shapes and for excerpts). Matches are released in
order of start offset (longer first on ties) only once no later match can contain them, which lets the
caller keep "the raw key, not its 90 fragments" with a running maximum instead of a list of everything.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from byok_audit.scan.engine import LiteralEngine


@dataclass(frozen=True, slots=True)
class Match:
    start: int  #: offset in the stream
    end: int
    literal: int
    line: int  #: 1-based line of ``start``
    window: bytes  #: the stream from ``window_start`` to at least ``context`` bytes past ``end``
    window_start: int

    @property
    def at(self) -> int:
        """Where the match starts inside :attr:`window`."""
        return self.start - self.window_start


def scan_chunks(
    chunks: Iterable[bytes],
    engine: LiteralEngine,
    lengths: Sequence[int],
    *,
    context: int,
) -> Iterator[Match]:
    """Every occurrence of every literal in the concatenated ``chunks``, ordered by (start, -end)."""
    longest = max(lengths, default=1)
    buf = bytearray()
    base = 0  # stream offset of buf[0]
    scanned = 0  # every match ending at or before this offset has been found
    pending: list[tuple[int, int, int]] = []  # (start, -end, literal), sorted before release
    line_at, line = 0, 1  # newlines before stream offset line_at are counted in line
    for chunk in _with_eof(chunks):
        eof = chunk is None
        if not eof:
            buf += chunk
        stop = base + len(buf)
        if stop > scanned:
            begin = max(base, scanned - longest + 1)
            for position, literal in engine.find(buf, begin - base):
                start = base + position
                end = start + lengths[literal]
                if end > scanned:
                    pending.append((start, -end, literal))
            scanned = stop
        if pending:
            pending.sort()
            limit = stop if eof else stop - longest - context
            ready = bisect_right(pending, (limit, 0, len(lengths)))
            for start, negative_end, literal in pending[:ready]:
                line += buf.count(b"\n", line_at - base, start - base)
                line_at = start
                window_start = max(base, start - context)
                window_end = min(stop, -negative_end + context)
                window = bytes(buf[window_start - base : window_end - base])
                yield Match(start, -negative_end, literal, line, window, window_start)
            del pending[:ready]
        if eof:
            return
        keep = stop - longest - 2 * context
        if pending:
            keep = min(keep, pending[0][0] - context)
        if keep - base >= max(len(buf) // 2, 1):
            if line_at < keep:
                line += buf.count(b"\n", line_at - base, keep - base)
                line_at = keep
            del buf[: keep - base]
            base = keep


def _with_eof(chunks: Iterable[bytes]) -> Iterator[bytes | None]:
    yield from chunks
    yield None

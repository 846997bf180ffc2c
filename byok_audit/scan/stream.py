"""Scan a byte stream of any size in flat memory, yielding literal matches in order with their context.

Data is read straight into one reused buffer (no per-chunk allocation, no copy from the page cache
beyond the read itself). Between reads the buffer keeps only a tail of ``longest literal + 2 * context``
bytes, so a needle straddling a read boundary is still found once, and each match comes with
``context`` bytes either side (for confirming key shapes and for excerpts). Matches are released in
order of start offset (longer first on ties) only once no later match can contain them, which lets the
caller keep "the raw key, not its 90 fragments" with a running maximum instead of a list of everything.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from byok_audit.scan.engine import LiteralEngine

#: ``readinto``-style source: fills the view, returns how many bytes it wrote, 0 at the end.
Reader = Callable[[memoryview], int]


@dataclass(frozen=True, slots=True)
class Match:
    start: int  #: offset in the stream
    end: int
    literal: int
    line: int  #: 1-based line of ``start``
    window: (
        bytes  #: the stream from ``window_start`` to ``context`` bytes past ``end`` (or its end)
    )
    window_start: int

    @property
    def at(self) -> int:
        """Where the match starts inside :attr:`window`."""
        return self.start - self.window_start


def chunk_reader(chunks: Iterable[bytes]) -> Reader:
    """A :data:`Reader` over an iterator of byte chunks (decompressors, in-memory data)."""
    source = iter(chunks)
    pending = memoryview(b"")

    def read(view: memoryview) -> int:
        nonlocal pending
        while not pending:
            chunk = next(source, None)
            if chunk is None:
                return 0
            pending = memoryview(chunk)
        size = min(len(view), len(pending))
        view[:size] = pending[:size]
        pending = pending[size:]
        return size

    return read


def iter_chunks(read: Reader, size: int) -> Iterator[bytes]:
    """The stream of a :data:`Reader` as separate chunks (for consumers that keep them)."""
    while True:
        buffer = bytearray(size)
        with memoryview(buffer) as view:
            count = read(view)
        if not count:
            return
        del buffer[count:]
        yield bytes(buffer)


_MARK_EVERY = 1 << 16


class _Lines:
    """Line numbers for a sliding buffer: newline counts at checkpoints every 64 KiB.

    Each byte is counted once, when it arrives; a line number is then a checkpoint plus a count of
    at most 64 KiB, so finding a match's line costs nothing like recounting the buffer.
    """

    def __init__(self) -> None:
        self.offsets = [0]  # stream offsets of checkpoints
        self.counts = [0]  # newlines before each checkpoint

    def extend(self, buf: bytearray, base: int, stop: int) -> None:
        """Count the newlines of ``buf`` from the last checkpoint to stream offset ``stop``."""
        at, total = self.offsets[-1], self.counts[-1]
        while at < stop:
            step = min(stop, at + _MARK_EVERY)
            total += buf.count(b"\n", at - base, step - base)
            at = step
            self.offsets.append(at)
            self.counts.append(total)

    def line(self, buf: bytearray, base: int, offset: int) -> int:
        mark = bisect_right(self.offsets, offset) - 1
        start = self.offsets[mark]
        return self.counts[mark] + buf.count(b"\n", start - base, offset - base) + 1

    def forget(self, buf: bytearray, base: int, before: int) -> None:
        """Move the first checkpoint to ``before``, where the buffer is about to start."""
        mark = bisect_right(self.offsets, before) - 1
        total = self.counts[mark] + buf.count(b"\n", self.offsets[mark] - base, before - base)
        self.offsets[: mark + 1] = [before]
        self.counts[: mark + 1] = [total]


def scan_stream(
    read: Reader,
    engine: LiteralEngine,
    lengths: Sequence[int],
    *,
    context: int,
    chunk_size: int,
) -> Iterator[Match]:
    """Every occurrence of every literal in the stream, ordered by (start, -end)."""
    longest = max(lengths, default=1)
    buf = bytearray(chunk_size + longest + 2 * context + 1)
    fill = 0  # valid bytes in buf
    base = 0  # stream offset of buf[0]
    scanned = 0  # every match ending at or before this offset has been found
    pending: list[tuple[int, int, int]] = []  # (start, -end, literal), sorted before release
    lines = _Lines()
    while True:
        with memoryview(buf) as view, view[fill:] as free:
            count = read(free)
        eof = count == 0
        fill += count
        stop = base + fill
        if stop > scanned:
            begin = max(base, scanned - longest + 1)
            lines.extend(buf, base, stop)
            for position, literal in engine.find(buf, begin - base, fill):
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
                window_start = max(base, start - context)
                window_end = min(stop, -negative_end + context)
                window = bytes(buf[window_start - base : window_end - base])
                line = lines.line(buf, base, start)
                yield Match(start, -negative_end, literal, line, window, window_start)
            del pending[:ready]
        if eof:
            return
        keep = stop - longest - 2 * context
        if pending:
            keep = min(keep, pending[0][0] - context)
        if keep > base and fill > chunk_size // 2:
            lines.forget(buf, base, keep)
            tail = stop - keep
            buf[:tail] = buf[keep - base : fill]
            fill, base = tail, keep

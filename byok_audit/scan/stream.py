"""Scan a byte stream of any size in flat memory, yielding literal matches in order with their context.

Data is read straight into one reused buffer (no per-chunk allocation, no copy from the page cache
beyond the read itself), and lines are not counted during the scan (see :func:`line_numbers`). Between reads the buffer keeps only a tail of ``longest literal + 2 * context``
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
    #: the stream from ``window_start`` to ``context`` bytes past ``end`` (or its end)
    window: bytes
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
    while True:
        with memoryview(buf) as view, view[fill:] as free:
            count = read(free)
        eof = count == 0
        fill += count
        stop = base + fill
        if stop > scanned:
            begin = max(base, scanned - longest + 1)
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
                yield Match(start, -negative_end, literal, window, window_start)
            del pending[:ready]
        if eof:
            return
        keep = stop - longest - 2 * context
        if pending:
            keep = min(keep, pending[0][0] - context)
        if keep > base and fill > chunk_size // 2:
            tail = stop - keep
            buf[:tail] = buf[keep - base : fill]
            fill, base = tail, keep


def line_numbers(read: Reader, offsets: Iterable[int], chunk_size: int) -> dict[int, int]:
    """The 1-based line of each offset, in one pass that stops after the last one.

    Lines are counted only for sources that have hits, after the scan: a clean source (the usual case)
    costs no counting at all.
    """
    wanted = sorted(set(offsets))
    lines: dict[int, int] = {}
    buf = bytearray(chunk_size)
    base = newlines = index = 0
    with memoryview(buf) as view:
        while index < len(wanted):
            count = read(view)
            if not count:
                break
            at = base
            while index < len(wanted) and wanted[index] <= base + count:
                newlines += buf.count(b"\n", at - base, wanted[index] - base)
                at = wanted[index]
                lines[at] = newlines + 1
                index += 1
            newlines += buf.count(b"\n", at - base, count)
            base += count
    lines.update((offset, newlines + 1) for offset in wanted[index:])
    return lines

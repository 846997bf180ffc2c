from __future__ import annotations

import random

import pytest

from byok_audit.scan.engine import choose, compile_literals
from byok_audit.scan.stream import chunk_reader, iter_chunks, line_numbers, scan_stream

LITERALS = (b"needle-one", b"needle", b"dle-on", b"x" * 40)
LENGTHS = [len(lit) for lit in LITERALS]


def _data() -> bytes:
    rng = random.Random(9)
    parts = []
    for _ in range(300):
        parts.append(rng.choice([b"\n", b"text ", b"needle-one", b"xx", b"x" * 45, b"needle\n"]))
    return b"".join(parts)


def _scan(
    data: bytes, engine: str, chunk: int, context: int = 16
) -> list[tuple[int, int, int, bytes]]:
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    found = scan_stream(
        chunk_reader(pieces),
        compile_literals(choose(engine), LITERALS),
        LENGTHS,
        context=context,
        chunk_size=chunk,
    )
    matches = list(found)
    lines = line_numbers(chunk_reader(pieces), (m.start for m in matches), chunk)
    return [
        (m.start, m.literal, lines[m.start], m.window[m.at : m.at + LENGTHS[m.literal]])
        for m in matches
    ]


def test_matches_lines_and_order_do_not_depend_on_chunk_size(engine: str) -> None:
    data = _data()
    expected = sorted(
        (
            (at, index, data.count(b"\n", 0, at) + 1, literal)
            for index, literal in enumerate(LITERALS)
            for at in range(len(data))
            if data.startswith(literal, at)
        ),
        key=lambda m: (m[0], -len(m[3]), m[1]),
    )
    for chunk in (1, 3, 10, 41, 1000, 1 << 20):
        assert _scan(data, engine, chunk) == expected, chunk


def test_windows_hold_context_on_both_sides(engine: str) -> None:
    data = b"0123456789" * 5 + b"needle-one" + b"abcdefghij" * 5
    pieces = [data[i : i + 7] for i in range(0, len(data), 7)]
    found = scan_stream(
        chunk_reader(pieces), compile_literals(engine, LITERALS), LENGTHS, context=12, chunk_size=7
    )
    first = next(found)
    assert first.window == data[50 - 12 : 60 + 12]
    assert first.at == 12


def test_the_buffer_stays_bounded_however_long_the_stream() -> None:
    """Flat memory: the reader is only ever asked for chunk + tail bytes."""
    asked: list[int] = []
    remaining = 50_000_000

    def read(view: memoryview) -> int:
        nonlocal remaining
        asked.append(len(view))
        count = min(len(view), remaining, 4096)
        view[:count] = b"y" * count
        remaining -= count
        return count

    list(
        scan_stream(
            read, compile_literals("python", LITERALS), LENGTHS, context=256, chunk_size=4096
        )
    )
    assert remaining == 0
    assert max(asked) <= 4096 + max(LENGTHS) + 2 * 256 + 1


def test_iter_chunks_returns_the_stream() -> None:
    data = bytes(range(256)) * 10
    assert b"".join(iter_chunks(chunk_reader([data[:5], data[5:]]), 100)) == data


@pytest.mark.parametrize("chunk", [1, 2, 64])
def test_an_empty_stream_has_no_matches(chunk: int) -> None:
    engine = compile_literals("python", LITERALS)
    assert list(scan_stream(chunk_reader([]), engine, LENGTHS, context=8, chunk_size=chunk)) == []


def test_line_numbers_stop_after_the_last_offset() -> None:
    data = b"a\nb\nc\n" * 10
    consumed = 0

    def read(view: memoryview) -> int:
        nonlocal consumed
        count = min(len(view), len(data) - consumed)
        view[:count] = data[consumed : consumed + count]
        consumed += count
        return count

    assert line_numbers(read, [0, 2, 3, 4, 6], 4) == {0: 1, 2: 2, 3: 2, 4: 3, 6: 4}
    assert consumed == 8
    assert line_numbers(chunk_reader([data]), [], 4) == {}

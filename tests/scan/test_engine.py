from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byok_audit.scan.decode import BASE64_MAGIC, EMBEDDED_MAGIC
from byok_audit.scan.engine import (
    ENGINE_ENV,
    PythonEngine,
    choose,
    compile_literals,
    hyperscan_available,
)


def _naive(data: bytes, literals: tuple[bytes, ...], start: int, end: int) -> set[tuple[int, int]]:
    found = set()
    for index, literal in enumerate(literals):
        at = data.find(literal, start, end)
        while at >= 0:
            found.add((at, index))
            at = data.find(literal, at + 1, end)
    return found


LITERALS = (
    b"\x1f\x8b\x08",  # short: compression magic
    b'"delta',
    b"aaaaaaaa",  # overlaps itself
    b"ab\x00cd\x00ef\x00gh",  # NUL bytes (Hyperscan's literal API would stop at the first)
    b"sk-ant-api03-abcdefgh",
    b"abcdefgh",  # inside the one above
    bytes(range(200, 230)),
)
#: Short literals found in one pass (first and second bytes apart): compression magic, raw and base64.
SHORT = (*EMBEDDED_MAGIC, *BASE64_MAGIC, b"sk-ant-api03-abcdefgh")
#: Short literals a byte of which is both a first and a second byte: each gets its own search.
CROSSED = (b"ab1", b"ba2", b"abc", b"\x00\x00\x00", b"abcdefgh")


@pytest.mark.parametrize("literals", [LITERALS, SHORT, CROSSED], ids=["mixed", "short", "crossed"])
@pytest.mark.parametrize("name", ["python", "hyperscan"])
@given(
    st.data(),
    st.integers(0, 10),
    st.integers(0, 10),
)
@settings(max_examples=60)
def test_engines_find_every_occurrence_within_bounds(
    name: str, literals: tuple[bytes, ...], data: st.DataObject, cut_start: int, cut_end: int
) -> None:
    if name == "hyperscan" and not hyperscan_available():
        pytest.skip("hyperscan is not installed")
    piece = (
        st.sampled_from(literals) | st.binary(max_size=20) | st.sampled_from([b"e", b"eJ", b"H4"])
    )
    buffer = bytearray(b"".join(data.draw(st.lists(piece, max_size=30))))
    start, end = min(cut_start, len(buffer)), max(min(len(buffer) - cut_end, len(buffer)), 0)
    engine = compile_literals(name, literals)
    got = set(engine.find(buffer, start, end)) if start < end else set()
    assert got == (_naive(bytes(buffer), literals, start, end) if start < end else set())


def test_the_python_engine_agrees_on_a_large_random_buffer() -> None:
    rng = random.Random(5)
    literals = tuple(rng.randbytes(rng.randint(7, 40)) for _ in range(300))
    data = bytearray(rng.randbytes(200_000))
    for literal in literals[::7]:
        at = rng.randrange(len(data))
        data[at:at] = literal
    assert set(PythonEngine(literals).find(data, 0, len(data))) == _naive(
        bytes(data), literals, 0, len(data)
    )


def test_choose_honours_the_argument_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENGINE_ENV, "python")
    assert choose() == "python"
    monkeypatch.setenv(ENGINE_ENV, "fast-please")
    with pytest.raises(ValueError, match=ENGINE_ENV):
        choose()
    assert choose("python") == "python"
    monkeypatch.delenv(ENGINE_ENV)
    assert choose() == ("hyperscan" if hyperscan_available() else "python")


def test_compiled_engines_are_shared() -> None:
    assert compile_literals("python", LITERALS) is compile_literals("python", LITERALS)

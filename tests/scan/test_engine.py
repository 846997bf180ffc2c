from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@pytest.mark.parametrize("name", ["python", "hyperscan"])
@given(
    st.lists(st.sampled_from(LITERALS) | st.binary(max_size=20), max_size=30),
    st.integers(0, 10),
    st.integers(0, 10),
)
@settings(max_examples=60)
def test_engines_find_every_occurrence_within_bounds(
    name: str, pieces: list[bytes], cut_start: int, cut_end: int
) -> None:
    if name == "hyperscan" and not hyperscan_available():
        pytest.skip("hyperscan is not installed")
    data = bytearray(b"".join(pieces))
    start, end = min(cut_start, len(data)), max(min(len(data) - cut_end, len(data)), 0)
    engine = compile_literals(name, LITERALS)
    got = set(engine.find(data, start, end)) if start < end else set()
    assert got == (_naive(bytes(data), LITERALS, start, end) if start < end else set())


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

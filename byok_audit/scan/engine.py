"""Multi-literal search: Hyperscan when it is installed, a pure-Python q-gram engine otherwise.

Both engines answer the same question: every occurrence (overlapping ones included) of every literal in a
buffer. Attribution (which canary, which form) is a dict lookup on the literal afterwards, so the engines
stay small and interchangeable; ``BYOK_AUDIT_SCAN_ENGINE=python`` forces the fallback so tests cover both.
"""

from __future__ import annotations

import importlib
import os
import threading
from array import array
from collections import defaultdict
from functools import cache, lru_cache
from typing import Protocol

ENGINE_ENV = "BYOK_AUDIT_SCAN_ENGINE"
ENGINES = ("hyperscan", "python")

Buffer = bytes | bytearray


class LiteralEngine(Protocol):
    name: str

    def find(self, buf: Buffer, start: int, end: int) -> list[tuple[int, int]]:
        """``(position, literal index)`` of every occurrence inside ``buf[start:end]``, positions in ``buf``."""
        ...


class HyperscanEngine:
    """Hyperscan block mode over a database of escaped literals (its literal API stops at NUL bytes)."""

    name = "hyperscan"

    def __init__(self, literals: tuple[bytes, ...]) -> None:
        self._hs = importlib.import_module("hyperscan")
        self._lengths = [len(literal) for literal in literals]
        self._db = self._hs.Database(mode=self._hs.HS_MODE_BLOCK)
        self._db.compile(
            expressions=[_hs_escape(literal) for literal in literals],
            ids=list(range(len(literals))),
            elements=len(literals),
            flags=0,
        )
        self._local = threading.local()

    def find(self, buf: Buffer, start: int, end: int) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        lengths = self._lengths

        def on_match(literal: int, _from: int, end: int, _flags: int, _context: object) -> None:
            found.append((start + end - lengths[literal], literal))

        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hs.Scratch(self._db)
        with memoryview(buf) as view, view[start:end] as part:
            self._db.scan(part, match_event_handler=on_match, scratch=scratch)
        return found


def _hs_escape(literal: bytes) -> bytes:
    return b"".join(
        bytes((b,)) if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122) else b"\\x%02x" % b
        for b in literal
    )


_Q = 4  # gram size, and the sampling stride
_WORD = next(code for code in "ILH" if array(code).itemsize == _Q)
_BLOCK = 1 << 13  # verification works block by block, so each gram is searched for in a small range


class PythonEngine:
    """Pure Python with C-speed inner loops: sample 4-grams, look them up in a set, verify candidates.

    Any occurrence of a literal of 7 bytes or more puts one of the literal's 4 consecutive 4-grams
    (offsets ``j0 .. j0+3``) on a sampled position (every 4th byte), whatever its alignment. ``array``
    turns a block of the buffer into ints and ``set.intersection`` finds which sampled grams belong to
    some literal, both in C; only those grams are then located with ``bytes.find`` inside the block and
    the literals around them compared. Shorter literals (compression magic, raw and in base64) are
    found all at once by :class:`_ShortLiterals`.
    """

    name = "python"

    def __init__(self, literals: tuple[bytes, ...]) -> None:
        self._literals = literals
        self._short = _ShortLiterals(
            [(i, literal) for i, literal in enumerate(literals) if len(literal) < 2 * _Q - 1]
        )
        where: dict[int, list[tuple[int, int]]] = defaultdict(list)
        self._gram: dict[int, bytes] = {}
        for index, literal in enumerate(literals):
            if len(literal) < 2 * _Q - 1:
                continue
            # grams from the middle: prefixes and suffixes are what literals share (sk-ant-, \u00)
            first = min(max(0, len(literal) // 2 - _Q + 1), len(literal) - (2 * _Q - 1))
            for offset in range(first, first + _Q):
                gram = literal[offset : offset + _Q]
                key = array(_WORD, gram)[0]
                where[key].append((index, offset))
                self._gram[key] = gram
        self._where = dict(where)
        self._keys = frozenset(where)

    def find(self, buf: Buffer, start: int, end: int) -> list[tuple[int, int]]:
        found: set[tuple[int, int]] = set()
        literals = self._literals
        if self._keys:
            with memoryview(buf) as view:
                for block in range(start, end, _BLOCK):
                    stop = min(end, block + _BLOCK + _Q - 1)
                    sampled = array(_WORD)
                    with view[block : block + (stop - block) // _Q * _Q] as part:
                        sampled.frombytes(part)
                    for key in self._keys.intersection(sampled):
                        gram = self._gram[key]
                        at = buf.find(gram, block, stop)
                        while at >= 0:
                            for index, offset in self._where[key]:
                                begin = at - offset
                                literal = literals[index]
                                if (
                                    begin >= start
                                    and begin + len(literal) <= end
                                    and buf.startswith(literal, begin)
                                ):
                                    found.add((begin, index))
                            at = buf.find(gram, at + 1, stop)
        self._short.find(buf, start, end, found)
        return list(found)


class _ShortLiterals:
    """Literals too short for sampled grams, found in one pass over the buffer whatever their number.

    A copy of the buffer is translated so that every byte a short literal starts with becomes 1, every
    byte one has second becomes 2 and all others 0; each ``1 2`` pair is a candidate, confirmed by a
    dict lookup on its two real bytes and a comparison. (Should a byte be both a first and a second
    byte, each literal gets a search of its own instead.)
    """

    def __init__(self, literals: list[tuple[int, bytes]]) -> None:
        self._literals = literals
        self._heads: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
        for index, literal in literals:
            self._heads[int.from_bytes(literal[:2])].append((index, literal))
        firsts = {literal[0] for _, literal in literals}
        seconds = {literal[1] for _, literal in literals if len(literal) > 1}
        self._table: bytes | None = None
        if literals and min(len(literal) for _, literal in literals) > 1 and not firsts & seconds:
            table = bytearray(256)
            for byte in firsts:
                table[byte] = 1
            for byte in seconds:
                table[byte] = 2
            self._table = bytes(table)

    def find(self, buf: Buffer, start: int, end: int, found: set[tuple[int, int]]) -> None:
        if self._table is None:
            for index, literal in self._literals:
                at = buf.find(literal, start, end)
                while at >= 0:
                    found.add((at, index))
                    at = buf.find(literal, at + 1, end)
            return
        with memoryview(buf) as view, view[start:end] as part:
            marked = bytes(part).translate(self._table)
        heads = self._heads
        at = marked.find(b"\x01\x02")
        while at >= 0:
            position = start + at
            candidates = heads.get(buf[position] << 8 | buf[position + 1])
            if candidates is not None:
                for index, literal in candidates:
                    if buf.startswith(literal, position, end):
                        found.add((position, index))
            at = marked.find(b"\x01\x02", at + 1)


@cache
def hyperscan_available() -> bool:
    try:
        importlib.import_module("hyperscan")
    except ImportError:
        return False
    return True


def choose(name: str | None = None) -> str:
    """The engine to use: ``name``, else ``$BYOK_AUDIT_SCAN_ENGINE``, else Hyperscan when importable."""
    wanted = name or os.environ.get(ENGINE_ENV, "").strip().lower() or None
    if wanted is None:
        return "hyperscan" if hyperscan_available() else "python"
    if wanted not in ENGINES:
        raise ValueError(
            f"unknown scan engine {wanted!r} (from {ENGINE_ENV} or engine=): use {ENGINES}"
        )
    if wanted == "hyperscan" and not hyperscan_available():
        raise ValueError(
            "scan engine 'hyperscan' requested but the hyperscan package is not installed"
        )
    return wanted


@lru_cache(maxsize=64)
def compile_literals(name: str, literals: tuple[bytes, ...]) -> LiteralEngine:
    """A compiled engine for these literals, shared by every scanner with the same needle set."""
    if name == "hyperscan":
        return HyperscanEngine(literals)
    return PythonEngine(literals)

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib

import brotli
import pytest
import zstandard

from byok_audit.scan.decode import content_codings, decode_body, inflate, sniff
from byok_audit.scan.stream import chunk_reader

TEXT = b"line one\nline two with some words\n" * 200


def _inflate(
    kind: str, data: bytes, cap: int = 1 << 30, piece: int = 1000
) -> tuple[bytes, list[str]]:
    problems: list[str] = []
    pieces = [data[i : i + piece] for i in range(0, len(data), piece)]
    out = b"".join(
        inflate(kind, chunk_reader(pieces), cap=cap, chunk_size=4096, on_problem=problems.append)
    )
    return out, problems


@pytest.mark.parametrize(
    ("kind", "compress"),
    [
        ("gzip", gzip.compress),
        ("zstd", zstandard.ZstdCompressor().compress),
        ("bzip2", bz2.compress),
        ("xz", lzma.compress),
        ("zlib", zlib.compress),
    ],
)
def test_each_format_is_sniffed_and_inflated(kind: str, compress) -> None:
    data = compress(TEXT)
    assert sniff(data[:16]) == kind
    assert _inflate(kind, data) == (TEXT, [])


def test_plain_text_is_not_compressed() -> None:
    assert sniff(b"2026-08-01 INFO") is None
    assert sniff(b"") is None


def test_concatenated_gzip_members_are_all_read() -> None:
    assert _inflate("gzip", gzip.compress(b"first\n") + gzip.compress(b"second\n")) == (
        b"first\nsecond\n",
        [],
    )


def test_a_truncated_stream_yields_what_precedes_the_damage() -> None:
    data = gzip.compress(TEXT)
    out, problems = _inflate("gzip", data[: len(data) // 2])
    assert out and TEXT.startswith(out)
    assert problems and "gzip" in problems[0]


def test_a_decompression_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(bytes(64 << 20))
    assert len(bomb) < 100_000
    out, problems = _inflate("gzip", bomb, cap=1 << 20)
    assert len(out) == 1 << 20
    assert "capped" in problems[0]


def test_content_codings_are_undone_last_applied_first() -> None:
    assert content_codings(["gzip, br"]) == ["br", "gzip"]
    assert content_codings(["identity", "x-gzip"]) == ["gzip"]


@pytest.mark.parametrize(
    ("header", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda d: zlib.compress(d)[2:-4]),  # raw deflate, as some servers send
        ("br", brotli.compress),
        ("zstd", zstandard.ZstdCompressor().compress),
        ("gzip, br", lambda d: brotli.compress(gzip.compress(d))),
    ],
)
def test_http_bodies_are_decoded(header: str, encode) -> None:
    body, layers, problem = decode_body(encode(TEXT), content_codings([header]), cap=1 << 30)
    assert (body, problem) == (TEXT, None)
    assert layers == "".join(f"{c}+" for c in content_codings([header]))


def test_an_unknown_or_broken_coding_is_reported_not_raised() -> None:
    body, layers, problem = decode_body(b"abc", ["compress"], cap=1 << 20)
    assert (body, layers) == (b"abc", "")
    assert "compress" in problem
    _, _, problem = decode_body(b"not gzip at all", ["gzip"], cap=1 << 20)
    assert problem and "gzip" in problem

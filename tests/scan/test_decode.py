from __future__ import annotations

import base64
import bz2
import gzip
import lzma
import zlib

import brotli
import pytest
import zstandard

from byok_audit.scan.decode import (
    BASE64_MAGIC,
    base64_run,
    content_codings,
    decode_body,
    inflate,
    probe_base64,
    sniff,
)
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


COMPRESSORS = {
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "zlib": zlib.compress,
    "zstd": zstandard.ZstdCompressor().compress,
}


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 1 << 16])
@pytest.mark.parametrize(
    ("style", "encode"),
    [
        ("standard", base64.b64encode),
        ("unpadded", lambda data: base64.b64encode(data).rstrip(b"=")),
        ("url-safe", lambda data: base64.urlsafe_b64encode(data).rstrip(b"=")),
        ("json \\/", lambda data: base64.b64encode(data).replace(b"/", b"\\/")),
        ("mime", lambda data: base64.encodebytes(data).replace(b"\n", b"\r\n")),
        ("pem", lambda data: b"\n".join(_pieces(base64.b64encode(data), 64)) + b"\n"),
    ],
)
def test_a_base64_run_decodes_in_any_style_and_stops_at_its_end(
    style: str, encode, size: int
) -> None:
    data = bytes(range(256)) * 3 + b"\xfb\xff"  # every byte, '+' and '/' in the text, no padding
    text = b'{"Data":"' + encode(data) + b'","n":1}\nH4sI'
    start = text.index(b":") + 2
    decoded = b"".join(base64_run(_pieces(text[start:], size)))
    assert decoded == data, style


def test_a_base64_run_ends_at_padding_a_wrong_width_or_a_dangling_character() -> None:
    assert b"".join(base64_run([b"QUJD", b"RA==QUJD"])) == b"ABCD"
    assert b"".join(base64_run([b"QUJDRA\\n"])) == b"ABCD", "an escape other than \\/ ends it"
    line = base64.b64encode(bytes(45))  # 60 characters: not a wrapping width
    assert b"".join(base64_run([line + b"\n" + line])) == bytes(45)
    assert b"".join(base64_run([b"QUJDR"])) == b"ABC", "a lone 5th character stands for nothing"
    assert b"".join(base64_run([b"", b"!QUJD"])) == b""


def test_the_base64_magic_decodes_to_each_compression_header() -> None:
    assert set(BASE64_MAGIC.values()) == {"gzip", "zlib", "zstd"}
    assert {b"H4sI", b"KLUv/", b"KLUv_", b"KLUv\\/", b"eJx", b"eNo", b"eAE", b"eF4"} <= set(
        BASE64_MAGIC
    )
    leveled = {
        "gzip": lambda data, level: gzip.compress(data, level, mtime=0),
        "zlib": zlib.compress,
        "zstd": lambda data, level: zstandard.ZstdCompressor(level).compress(data),
    }
    for kind, compress in leveled.items():
        for level in (1, 3, 6, 9):
            blob = compress(b"x" * 100, level)
            for encoded in (base64.b64encode(blob), base64.urlsafe_b64encode(blob)):
                assert [BASE64_MAGIC[m] for m in BASE64_MAGIC if encoded.startswith(m)] == [kind]
    magics = {
        "gzip": [b"\x1f\x8b\x08"],
        "zstd": [b"\x28\xb5\x2f\xfd"],
        "zlib": [b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda"],
    }
    for literal, kind in BASE64_MAGIC.items():
        text = literal.replace(b"\\/", b"/").translate(bytes.maketrans(b"-_", b"+/"))
        encoded = [base64.b64encode(m + bytes((b,))) for m in magics[kind] for b in range(256)]
        assert any(e.startswith(text) for e in encoded), literal


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_a_probe_accepts_a_compressed_run_and_rejects_look_alikes(kind: str) -> None:
    blob = COMPRESSORS[kind](b"key=" + bytes(range(64)))
    assert probe_base64(base64.b64encode(blob) + b'"', kind)
    assert probe_base64(base64.urlsafe_b64encode(blob)[:40], kind), "a window cut short is enough"
    magic = next(m for m, k in BASE64_MAGIC.items() if k == kind)
    assert not probe_base64(magic + b"AAAAAAAA", kind), "too short to hold a needle"
    assert not probe_base64(base64.b64encode(blob)[:12] + b'"', kind)
    broken = blob[:2] + b"\xff" * 30 if kind == "zlib" else blob[:4] + b"\xff" * 30
    assert not probe_base64(base64.b64encode(broken), kind), "a header that does not inflate"
    assert not probe_base64(base64.b64encode(blob), "gzip" if kind != "gzip" else "zstd")

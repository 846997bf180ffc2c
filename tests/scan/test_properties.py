"""Property tests: a needle anywhere in random bytes, in any supported form, is found; noise is quiet."""

from __future__ import annotations

import base64
import gzip
import hashlib
import zlib
from collections.abc import Callable

import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byok_audit.scan import Scanner
from tests.scan.support import canaries, values

VALUES = values()
KEY = VALUES["KEY1"]
PROMPT = VALUES["PROMPT"]

Encoder = Callable[[bytes, bytes, bytes], bytes]

# (form, needle, encoder(inner_before, secret, inner_after) -> bytes to embed)
FORMS: list[tuple[str, str, Encoder]] = [
    ("raw", KEY, lambda a, s, b: s),
    ("base64", KEY, lambda a, s, b: base64.b64encode(a + s + b)),
    ("base64", KEY, lambda a, s, b: base64.urlsafe_b64encode(a + s + b).rstrip(b"=")),
    ("hex", KEY, lambda a, s, b: s.hex().encode()),
    ("hex-upper", KEY, lambda a, s, b: s.hex().upper().encode()),
    ("percent", KEY, lambda a, s, b: "".join(f"%{c:02X}" for c in s).encode()),
    ("json-escape", KEY, lambda a, s, b: "".join(f"\\u{c:04x}" for c in s).encode()),
    ("python-escape", KEY, lambda a, s, b: "".join(f"\\x{c:02x}" for c in s).encode()),
    ("utf16le", KEY, lambda a, s, b: s.decode().encode("utf-16-le")),
    ("sha256-hex", KEY, lambda a, s, b: hashlib.sha256(s).hexdigest().encode()),
    (
        "md5-base64",
        KEY,
        lambda a, s, b: base64.b64encode(hashlib.md5(s, usedforsecurity=False).digest()),
    ),
    ("raw", PROMPT, lambda a, s, b: s),
    ("json-escape", PROMPT, lambda a, s, b: "".join(f"\\u{c:04X}" for c in s).encode()),
    ("utf16be", PROMPT, lambda a, s, b: s.decode().encode("utf-16-be")),
    ("percent", PROMPT, lambda a, s, b: "".join(f"%{c:02x}" for c in s).encode()),
]

_SCANNERS: dict[tuple[str, int], Scanner] = {}


def _scanner(engine: str, chunk: int) -> Scanner:
    if (engine, chunk) not in _SCANNERS:
        _SCANNERS[engine, chunk] = Scanner(canaries(), engine=engine, chunk_size=chunk)
    return _SCANNERS[engine, chunk]


@given(
    form=st.sampled_from(range(len(FORMS))),
    before=st.binary(max_size=300),
    after=st.binary(max_size=300),
    inner_before=st.binary(max_size=5),
    inner_after=st.binary(max_size=5),
    chunk=st.sampled_from([5, 64, 4096]),
)
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_needle_in_random_bytes_is_found_in_any_form(
    engine: str,
    form: int,
    before: bytes,
    after: bytes,
    inner_before: bytes,
    inner_after: bytes,
    chunk: int,
) -> None:
    name, secret, encode = FORMS[form]
    blob = encode(inner_before, secret.encode(), inner_after)
    hits = _scanner(engine, chunk).scan_bytes(before + blob + after, "random")
    mine = [h for h in hits if h.form == name and h.fingerprint == _fingerprint(secret)]
    assert mine, f"{name} not found"
    assert all(len(before) <= h.offset < len(before) + len(blob) for h in mine)


@given(
    secret=st.sampled_from([KEY, VALUES["MASTER"], VALUES["OAT1"]]),
    start=st.integers(13, 60),
    length=st.integers(8, 40),
    noise=st.binary(max_size=200),
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_fragment_of_eight_or_more_is_found(
    engine: str, secret: str, start: int, length: int, noise: bytes
) -> None:
    start = min(start, len(secret) - 12)
    piece = secret[start : start + length].encode()
    hits = _scanner(engine, 64).scan_bytes(noise + b"\n" + piece + b"\n", "random")
    assert [(h.form, h.offset, h.length) for h in hits if h.form == "fragment"] == [
        ("fragment", len(noise) + 1, len(piece))
    ]


@given(st.binary(max_size=3000), st.sampled_from([7, 4096]))
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_bytes_without_a_needle_are_quiet(engine: str, data: bytes, chunk: int) -> None:
    assert _scanner(engine, chunk).scan_bytes(data, "noise") == []
    assert _scanner(engine, chunk).scan_bytes(gzip.compress(data), "noise.gz") == []
    wrapped = b'{"Data":"' + base64.b64encode(zlib.compress(data)) + b'"}'
    assert _scanner(engine, chunk).scan_bytes(wrapped, "batch") == []


COMPRESSORS = {
    "gzip": gzip.compress,
    "zlib": zlib.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}
BASE64 = [
    base64.b64encode,
    lambda data: base64.urlsafe_b64encode(data).rstrip(b"="),
    lambda data: base64.b64encode(data).replace(b"/", b"\\/"),
    base64.encodebytes,  # MIME: 76 columns
]


@given(
    kind=st.sampled_from(sorted(COMPRESSORS)),
    style=st.sampled_from(range(len(BASE64))),
    before=st.binary(max_size=300),
    after=st.binary(max_size=300),
    inner_before=st.binary(max_size=200),
    inner_after=st.binary(max_size=200),
    chunk=st.sampled_from([5, 64, 4096]),
)
@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_key_in_base64_of_compressed_data_is_found(
    engine: str,
    kind: str,
    style: int,
    before: bytes,
    after: bytes,
    inner_before: bytes,
    inner_after: bytes,
    chunk: int,
) -> None:
    blob = BASE64[style](COMPRESSORS[kind](inner_before + KEY.encode() + inner_after))
    hits = _scanner(engine, chunk).scan_bytes(before + b'"' + blob + b'"' + after, "random")
    source = f"random!base64+{kind}@{len(before) + 1}"
    mine = [h for h in hits if h.form == f"base64+{kind}+raw" and h.source == source]
    assert [(h.offset, h.fingerprint) for h in mine] == [(len(inner_before), _fingerprint(KEY))]


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:8]

"""Inflate compressed payloads before scanning: rotated ``.gz`` logs, zstd blobs, HTTP Content-Encoding,
and base64 text that stands for a compressed stream (``{"Data": "H4sI…"}`` in Kinesis/Firehose records
and telemetry SDK batches).

Everything streams through bounded ``read(n)`` calls and stops at a cap, so a decompression bomb costs
at most ``cap`` bytes of scanning and never that much memory.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import gzip
import importlib
import io
import lzma
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import zstandard

from byok_audit.scan.stream import Reader, chunk_reader

#: Magic numbers worth looking for anywhere in a file (a blob inside a database page, a log line).
EMBEDDED_MAGIC: dict[bytes, str] = {b"\x1f\x8b\x08": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}

#: Default cap on the decompressed size of one compressed stream.
DEFAULT_CAP = 1 << 30
#: Words in a problem report that mean data was left unscanned because of the cap.
CAPPED = "output capped"


#: zlib headers (levels 0-1, 2-5, 6 = the usual default, 7-9), none with a preset dictionary.
_ZLIB_HEADERS = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _base64_magic() -> dict[bytes, str]:
    found: dict[bytes, str] = {}
    magics = [*EMBEDDED_MAGIC.items(), *((header, "zlib") for header in _ZLIB_HEADERS)]
    for magic, kind in magics:
        whole = 8 * len(magic) // 6  # characters that depend on the magic alone
        if whole >= 3:
            prefixes = {base64.b64encode(magic)[:whole]}
        else:  # two characters are too few to look for: add each way the third one can go
            prefixes = {base64.b64encode(magic + bytes((b,)))[: whole + 1] for b in range(256)}
        for prefix in sorted(prefixes):
            for variant in (prefix, prefix.replace(b"/", b"\\/"), prefix.translate(_TO_URLSAFE)):
                found[variant] = kind
    return found


#: Text that starts a base64 run standing for a compressed stream (gzip ``H4sI``, zlib ``eJx``…,
#: zstd ``KLUv/``), in the standard and url-safe alphabets and with ``/`` escaped as ``\/`` (JSON).
BASE64_MAGIC: dict[bytes, str] = _base64_magic()
#: Line widths a base64 run may wrap at and still be read on: PEM (64) and MIME (76).
WRAP_WIDTHS = (64, 76)
#: Fewest decoded bytes worth inflating (a compressed stream holding an 8-byte needle is longer).
MIN_BLOB = 12

_RUN = re.compile(rb"[A-Za-z0-9+/_-]*(?:\\/[A-Za-z0-9+/_-]*)*")


def base64_run(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The bytes the base64 run at the start of ``chunks`` stands for, decoded as it streams.

    Standard or url-safe alphabet, padded or not, ``/`` possibly escaped as ``\\/`` (JSON), lines
    possibly wrapped at a width of :data:`WRAP_WIDTHS` (LF or CRLF). The run ends at the first other
    byte: a quote, ``=`` padding, a line of another width; a dangling last character is dropped.
    """
    pending = b""  # clean base64 characters not decoded yet
    data = b""  # input not consumed yet: at most one undecided byte (a backslash or a CR)
    line = width = 0  # characters in the current line of the run; the width it wraps at
    ended = False
    for chunk in chunks:
        data += chunk
        position = 0
        while True:
            piece = _RUN.match(data, position).group()  # type: ignore[union-attr]  # matches empty
            pending += piece.replace(b"\\", b"").translate(_FROM_URLSAFE)
            line += len(piece) - piece.count(b"\\")
            position += len(piece)
            rest = data[position : position + 2]
            if not rest or rest in (b"\\", b"\r"):
                break  # the next chunk decides
            newline = 2 if rest == b"\r\n" else 1 if rest[:1] == b"\n" else 0
            if newline and line in WRAP_WIDTHS and width in (0, line):
                width, line = line, 0
                position += newline
                continue
            ended = True
            break
        data = data[position:]
        usable = len(pending) - len(pending) % 4
        if usable:
            yield binascii.a2b_base64(pending[:usable])
            pending = pending[usable:]
        if ended:
            break
    if len(pending) > 1:
        yield binascii.a2b_base64(pending + b"=" * (-len(pending) % 4))


def probe_base64(text: bytes, kind: str) -> bool:
    """Whether the base64 run starting ``text`` (as much of it as ``text`` holds) may stand for a
    ``kind`` stream: long enough to hold a needle, the magic in place, and a head that inflates."""
    head = b"".join(base64_run([text]))
    if len(head) < MIN_BLOB or sniff(head[:16]) != kind:
        return False
    try:
        if kind == "zstd":
            zstandard.get_frame_parameters(head)
        else:
            zlib.decompressobj(31 if kind == "gzip" else 15).decompress(head, 1 << 12)
    except (zlib.error, zstandard.ZstdError):
        return False
    return True


def sniff(head: bytes) -> str | None:
    """The compression a stream starting with ``head`` uses, judged by its magic number."""
    for magic, kind in EMBEDDED_MAGIC.items():
        if head.startswith(magic):
            return kind
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] == b"1AY&SY":
        return "bzip2"
    if len(head) >= 2 and head[0] == 0x78 and int.from_bytes(head[:2]) % 31 == 0:
        return "zlib"
    return None


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _RawReader(io.RawIOBase):
    """A read-only file over a :data:`Reader`, so the stdlib decompressors can stream from it."""

    def __init__(self, read: Reader) -> None:
        self._read = read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        with memoryview(buffer) as view, view.cast("B") as target:
            return self._read(target)


class _ZlibReader:
    """zlib or raw deflate (HTTP ``deflate`` is either, in practice), with bounded output per read."""

    def __init__(self, source: _Readable, *, raw_allowed: bool) -> None:
        self._source = source
        self._raw_allowed = raw_allowed
        self._inflater: zlib._Decompress | None = None
        self._input = b""

    def read(self, size: int) -> bytes:
        if self._inflater is None:
            self._input = self._source.read(1 << 16)
            head = self._input[:2]
            wrapped = len(head) == 2 and head[0] & 0x0F == 8 and int.from_bytes(head) % 31 == 0
            if not wrapped and not self._raw_allowed:
                raise zlib.error("not a zlib stream")
            self._inflater = zlib.decompressobj(15 if wrapped else -15)
        while not self._inflater.eof:
            if not self._input:
                self._input = self._source.read(1 << 16)
                if not self._input:
                    raise EOFError("deflate stream ended early")
            out = self._inflater.decompress(self._input, size)
            self._input = self._inflater.unconsumed_tail
            if out:
                return out
        return b""


class _BrotliReader:
    """Brotli has no output limit per call, so input goes in small pieces and output is checked after."""

    def __init__(self, source: _Readable) -> None:
        try:
            brotli = importlib.import_module("brotli")
        except ImportError as exc:
            raise OSError("brotli body but the brotli package is not installed") from exc
        self._source = source
        self._decompressor = brotli.Decompressor()
        self._error = brotli.error

    def read(self, size: int) -> bytes:
        while not self._decompressor.is_finished():
            data = self._source.read(256)
            if not data:
                raise EOFError("brotli stream ended early")
            try:
                out = self._decompressor.process(data)
            except self._error as exc:
                raise OSError(str(exc)) from exc
            if out:
                return out
        return b""


def _open(kind: str, raw: io.BufferedReader) -> _Readable:
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw)
    if kind == "zstd":
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    if kind == "bzip2":
        return bz2.BZ2File(raw)
    if kind == "xz":
        return lzma.LZMAFile(raw)
    if kind in ("zlib", "deflate"):
        return _ZlibReader(raw, raw_allowed=kind == "deflate")
    if kind == "br":
        return _BrotliReader(raw)
    raise ValueError(f"unknown compression {kind!r}")


_DAMAGE = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, zstandard.ZstdError)


def inflate(
    kind: str,
    read: Reader,
    *,
    cap: int,
    chunk_size: int,
    on_problem: Callable[[str], None],
) -> Iterator[bytes]:
    """The decompressed stream, in chunks, stopping at ``cap`` bytes or at the first damage.

    Output before the damage is still yielded: a truncated rotated log or a gzip blob followed by other
    data inside a database page is scanned as far as it goes. ``on_problem`` hears why it stopped early.
    """
    total = 0
    try:
        reader = _open(kind, io.BufferedReader(_RawReader(read), 1 << 16))
        # read1: one underlying read per call, so output before damage is handed over, not lost with it
        read = getattr(reader, "read1", reader.read)
        while True:
            block = read(chunk_size)
            if not block:
                return
            if total + len(block) > cap:
                yield block[: cap - total]
                on_problem(f"{kind} {CAPPED} at {cap} bytes (possible decompression bomb)")
                return
            total += len(block)
            yield block
    except _DAMAGE as exc:
        on_problem(f"{kind} stream unreadable after {total} decompressed bytes: {exc}")


def content_codings(header_values: Iterable[str]) -> list[str]:
    """Content-Encoding codings in the order they must be undone (last applied first)."""
    codings = [c.strip().lower() for value in header_values for c in value.split(",")]
    aliases = {"x-gzip": "gzip"}
    return [aliases.get(c, c) for c in reversed(codings) if c and c != "identity"]


def decode_body(body: bytes, codings: list[str], *, cap: int) -> tuple[bytes, str, str | None]:
    """A body with its Content-Encoding undone, the layer prefix for forms (``"gzip+"``), and the problem
    that stopped decoding early, if any (an unknown coding, a damaged or oversized stream)."""
    layers = ""
    for coding in codings:
        if coding not in ("gzip", "deflate", "br", "zstd"):
            return body, layers, f"unsupported Content-Encoding {coding!r}"
        problems: list[str] = []
        out = bytearray()
        blocks = inflate(
            coding, chunk_reader([body]), cap=cap, chunk_size=1 << 20, on_problem=problems.append
        )
        for block in blocks:
            out += block
        body = bytes(out)
        layers = f"{layers}{coding}+"
        if problems:
            return body, layers, f"Content-Encoding {coding}: {problems[0]}"
    return body, layers, None

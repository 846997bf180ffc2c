"""Every literal byte string that betrays a canary, labelled with the form it is in.

A secret leaks in many disguises: base64 inside a Sentry envelope or a JWT, hex, percent- or
JSON-escaped, UTF-16 in a Windows or SQLite file, a slice of a key kept "for display", an unsalted hash.
Each disguise is turned into one or more *literals* here, so a single multi-literal search finds them
all and a dict lookup on the matched literal says which canary and which form it was.

Known limit: a secret's own base64 split by a line break (MIME wraps at 76 columns, PEM and
``openssl base64`` at 64; a 108-character key's base64 is 144 characters, so it is always split) is not
found, since no literal spans the break. Wrapped base64 that stands for a *compressed* stream is read
across its line breaks (see :func:`byok_audit.scan.decode.base64_run`), and what it inflates to is
scanned in full.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from byok_audit.models.canary import CanaryRole
from byok_audit.scan.shapes import layout

#: Shorter literals would match by chance too often (and the pure-Python engine needs at least 7 bytes).
MIN_LITERAL = 8

FRAGMENT_ROLES = frozenset({CanaryRole.KEY, CanaryRole.OAUTH_TOKEN, CanaryRole.MASTER_SECRET})
DIGEST_ROLES = frozenset({CanaryRole.KEY, CanaryRole.OAUTH_TOKEN})
TEXT_ROLES = frozenset({CanaryRole.PROMPT, CanaryRole.RESPONSE})

#: What each form means (SARIF rule help, ``--help`` text and docs).
FORMS: dict[str, str] = {
    "raw": "the value as is",
    "base64": "standard base64, at any of the 3 byte alignments inside a larger blob",
    "base64url": "url-safe base64 (JWT, web tokens), at any alignment",
    "hex": "lowercase hex of the bytes",
    "hex-upper": "uppercase hex of the bytes",
    "percent": "URL percent-encoding (partial or every byte)",
    "json-escape": "JSON string escaping (\\uXXXX for every character, or only where required)",
    "python-escape": "Python/C escaping (\\xNN for every byte, or repr())",
    "utf16le": "UTF-16 little-endian text (Windows, SQLite UTF-16 databases)",
    "utf16be": "UTF-16 big-endian text",
    "upper": "a hex secret in capitals",
    "lower": "a hex secret in lower case",
    "hex-decoded": "the bytes a hex secret stands for (a master key loaded and stored as binary)",
    "hex-decoded+base64": "base64 of the bytes a hex secret stands for",
    "hex-decoded+base64url": "url-safe base64 of the bytes a hex secret stands for",
    "fragment": "a run of at least N characters of the secret part beyond the display suffix",
    "sse-reassembled": "text split across streaming (SSE / JSON chunk) deltas, joined back",
}
for _alg in ("sha256", "sha1", "md5"):
    FORMS[f"{_alg}-hex"] = f"unsalted {_alg} digest of the key, hex"
    FORMS[f"{_alg}-hex-upper"] = f"unsalted {_alg} digest of the key, uppercase hex"
    FORMS[f"{_alg}-base64"] = f"unsalted {_alg} digest of the key, base64"
    FORMS[f"{_alg}-base64url"] = f"unsalted {_alg} digest of the key, url-safe base64"

#: Layers a form may be wrapped in (``gzip+base64``): the payload was inflated first. ``base64`` is a
#: layer only in front of a compression layer (``base64+gzip+raw``: base64 text of a gzip stream).
LAYERS: dict[str, str] = {
    "base64": "base64 text (standard or url-safe, possibly unpadded, \\/-escaped or line-wrapped)",
    "gzip": "gzip stream (file, embedded blob or Content-Encoding)",
    "zstd": "zstd frame",
    "zlib": "zlib stream",
    "deflate": "HTTP deflate body",
    "br": "brotli HTTP body",
    "bzip2": "bzip2 file",
    "xz": "xz file",
}


_SLASHED = "+json-escape"


def split_layers(form: str) -> tuple[list[str], str]:
    """The layers a form is wrapped in, outermost first, and the form inside: ``gzip+raw`` gives
    ``(["gzip"], "raw")``. Its offset is in the innermost layer's data when there is a layer."""
    parts = form.split("+")
    layers = []
    while len(parts) > 1 and parts[0] in LAYERS:
        if parts[0] == "base64" and parts[1] not in LAYERS:
            break  # the base64 form itself, as in base64+json-escape
        layers.append(parts.pop(0))
    return layers, "+".join(parts)


def describe_form(form: str) -> str:
    """Human description of a possibly layered form such as ``gzip+zstd+base64``."""
    layers, base = split_layers(form)
    text = FORMS.get(base, base)
    if base not in FORMS and base.endswith(_SLASHED) and base.removesuffix(_SLASHED) in FORMS:
        text = FORMS[base.removesuffix(_SLASHED)] + ", with '/' escaped as '\\/' (PHP json_encode)"
    return text + "".join(f", inside a {LAYERS[layer]}" for layer in reversed(layers))


@dataclass(frozen=True, slots=True)
class Needle:
    literal: bytes
    form: str
    fragment: bool = False


def b64_middles(data: bytes, *, urlsafe: bool) -> list[bytes]:
    """The stable middle of ``data``'s base64 at each of the 3 byte alignments.

    Inside a larger blob, the characters that mix in neighbouring bytes depend on the neighbours; the ones
    fully determined by ``data`` do not, so they are a literal that finds ``data`` wherever it sits.
    """
    encode: Callable[[bytes], bytes] = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    middles = []
    for pad in range(3):
        encoded = encode(bytes(pad) + data)
        first = -(-8 * pad // 6)
        last = 8 * (pad + len(data)) // 6
        middles.append(encoded[first:last])
    return middles


def _escaped(value: str, template: str) -> str:
    """Every character escaped with ``template`` (UTF-16 code units, as JSON does)."""
    units = value.encode("utf-16-be")
    return "".join(
        template.format(int.from_bytes(units[i : i + 2])) for i in range(0, len(units), 2)
    )


_HEX_SECRET = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")


def _base64(form: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """Standard and url-safe base64 at every alignment, plus ``/`` escaped as ``\\/`` inside JSON."""
    for middle in b64_middles(data, urlsafe=False):
        yield form, middle
        if b"/" in middle:
            yield form + _SLASHED, middle.replace(b"/", b"\\/")
    for middle in b64_middles(data, urlsafe=True):
        yield form + "url", middle


def _encodings(value: str) -> Iterator[tuple[str, bytes]]:
    raw = value.encode()
    yield "raw", raw
    yield from _base64("base64", raw)
    yield "hex", raw.hex().encode()
    yield "hex-upper", raw.hex().upper().encode()
    yield "percent", quote(value, safe="").encode()
    yield "percent", quote_plus(value, safe="").encode()
    yield "percent", "".join(f"%{b:02X}" for b in raw).encode()
    yield "percent", "".join(f"%{b:02x}" for b in raw).encode()
    dumped = json.dumps(value)[1:-1]
    yield "json-escape", dumped.encode()
    yield "json-escape", json.dumps(value, ensure_ascii=False)[1:-1].encode()
    yield "json-escape", dumped.replace("/", "\\/").encode()
    yield "json-escape", _escaped(value, "\\u{:04x}").encode()
    yield "json-escape", _escaped(value, "\\u{:04X}").encode()
    yield "python-escape", repr(value)[1:-1].encode()
    yield "python-escape", "".join(f"\\x{b:02x}" for b in raw).encode()
    yield "python-escape", "".join(f"\\x{b:02X}" for b in raw).encode()
    yield "utf16le", value.encode("utf-16-le")
    yield "utf16be", value.encode("utf-16-be")
    if _HEX_SECRET.fullmatch(value):
        yield "upper", value.upper().encode()
        yield "lower", value.lower().encode()
        binary = bytes.fromhex(value)
        yield "hex-decoded", binary
        yield from _base64("hex-decoded+base64", binary)


def _digests(value: str) -> Iterator[tuple[str, bytes]]:
    for alg in ("sha256", "sha1", "md5"):
        digest = hashlib.new(alg, value.encode()).digest()
        yield f"{alg}-hex", digest.hex().encode()
        yield f"{alg}-hex-upper", digest.hex().upper().encode()
        yield from _base64(f"{alg}-base64", digest)


def fragments(value: str, *, min_len: int, display_suffix_len: int) -> list[bytes]:
    """Every ``min_len`` window of the secret part that is not wholly inside the display suffix.

    The secret part is what follows the shape prefix (``sk-ant-api03-``); windows made mostly of public
    structure (the ``T3BlbkFJ`` marker, the trailing ``AA``) are left out, because every key of that shape
    shares them: a window must hold at least ``min_len - 2`` secret characters.
    """
    shape = layout(value)
    found: dict[bytes, None] = {}
    suffix_start = len(value) - display_suffix_len
    for start in range(shape.prefix_len, len(value) - min_len + 1):
        if start >= suffix_start:
            break
        public = sum(1 for i in range(start, start + min_len) if i in shape.constant)
        if public <= 2:
            found[value[start : start + min_len].encode()] = None
    return list(found)


def needles_for(
    value: str,
    role: CanaryRole,
    *,
    display_suffix_len: int,
    fragments_on: bool,
    min_fragment: int,
    digests_on: bool,
) -> list[Needle]:
    """All literals for one canary, most specific form first, each literal once."""
    seen: dict[bytes, Needle] = {}
    pairs = list(_encodings(value))
    if digests_on and role in DIGEST_ROLES:
        pairs.extend(_digests(value))
    for form, literal in pairs:
        if len(literal) >= MIN_LITERAL and literal not in seen:
            seen[literal] = Needle(literal, form)
    if fragments_on and role in FRAGMENT_ROLES:
        for literal in fragments(
            value, min_len=min_fragment, display_suffix_len=display_suffix_len
        ):
            if literal not in seen:
                seen[literal] = Needle(literal, "fragment", fragment=True)
    return list(seen.values())

"""Deterministic canaries and the corpus template language (see tests/scan/corpus/README.md).

Whole key-shaped strings are never committed: corpus files hold placeholders such as ``{KEY1}`` or
``{KEY1|pre:alice:|base64}``, filled at test time from values generated from a fixed seed.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import re
import string
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import zstandard

from byok_audit.models.canary import KEY_ALPHABET, Canary, CanaryRole

SEED = 20260801
CORPUS = Path(__file__).parent / "corpus"

#: Placeholder names that are canaries, and their roles; the others are look-alikes (not canaries).
ROLES = {
    "KEY1": CanaryRole.KEY,
    "KEY2": CanaryRole.KEY,
    "OAI1": CanaryRole.KEY,
    "OAT1": CanaryRole.OAUTH_TOKEN,
    "PROMPT": CanaryRole.PROMPT,
    "RESPONSE": CanaryRole.RESPONSE,
    "MASTER": CanaryRole.MASTER_SECRET,
}


def _random(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def values(seed: int = SEED) -> dict[str, str]:
    """Every placeholder's value, the same on every run."""
    rng = random.Random(seed)
    alnum = string.ascii_letters + string.digits
    text = string.ascii_uppercase + string.digits
    return {
        "KEY1": "sk-ant-api03-" + _random(rng, KEY_ALPHABET, 93) + "AA",
        "KEY2": "sk-ant-api03-" + _random(rng, KEY_ALPHABET, 93) + "AA",
        "OAI1": "sk-proj-"
        + _random(rng, KEY_ALPHABET, 74)
        + "T3BlbkFJ"
        + _random(rng, KEY_ALPHABET, 74),
        "OAT1": "sk-ant-oat01-" + _random(rng, KEY_ALPHABET, 95),
        "PROMPT": "BYOKP" + _random(rng, text, 20),
        "RESPONSE": "BYOKR" + _random(rng, text, 20),
        "MASTER": _random(rng, "0123456789abcdef", 64),
        # look-alikes: real shapes, not canaries
        "OTHERKEY": "sk-ant-api03-" + _random(rng, KEY_ALPHABET, 93) + "AA",
        "ADMINKEY": "sk-ant-admin01-" + _random(rng, KEY_ALPHABET, 93) + "AA",
        "OTHEROAT": "sk-ant-oat01-" + _random(rng, KEY_ALPHABET, 95),
        "OTHERORT": "sk-ant-ort01-" + _random(rng, KEY_ALPHABET, 100),
        "OTHERAPI04": "sk-ant-api04-" + _random(rng, KEY_ALPHABET, 93) + "AA",
        "OTHEROAI": "sk-proj-"
        + _random(rng, KEY_ALPHABET, 74)
        + "T3BlbkFJ"
        + _random(rng, KEY_ALPHABET, 74),
        "OTHERSVC": "sk-svcacct-"
        + _random(rng, KEY_ALPHABET, 58)
        + "T3BlbkFJ"
        + _random(rng, KEY_ALPHABET, 58),
        "OTHERADMIN": "sk-admin-"
        + _random(rng, KEY_ALPHABET, 58)
        + "T3BlbkFJ"
        + _random(rng, KEY_ALPHABET, 58),
        "LEGACYOAI": "sk-" + _random(rng, alnum, 20) + "T3BlbkFJ" + _random(rng, alnum, 20),
    }


def canaries(seed: int = SEED) -> list[Canary]:
    found = values(seed)
    return [Canary(id=name, role=role, value=found[name]) for name, role in ROLES.items()]


def _digest(name: str):
    return lambda data: hashlib.new(name, data).digest()


def _text(function):
    return lambda data: function(data.decode()).encode()


TRANSFORMS = {
    "base64": base64.b64encode,
    "base64url": base64.urlsafe_b64encode,
    "nopad": lambda data: data.rstrip(b"="),
    "hex": lambda data: data.hex().encode(),
    "hexupper": lambda data: data.hex().upper().encode(),
    "unhex": lambda data: bytes.fromhex(data.decode()),
    "percent": lambda data: "".join(f"%{b:02X}" for b in data).encode(),
    "quote": _text(lambda text: quote(text, safe="")),
    "quoteplus": _text(lambda text: quote_plus(text, safe="")),
    "jsonu": _text(lambda text: "".join(f"\\u{ord(c):04x}" for c in text)),
    "jsonU": _text(lambda text: "".join(f"\\u{ord(c):04X}" for c in text)),
    "jsondump": _text(lambda text: json.dumps(text)[1:-1]),
    "jsonslash": lambda data: data.replace(b"/", b"\\/"),
    "pyx": lambda data: "".join(f"\\x{b:02x}" for b in data).encode(),
    "utf16le": lambda data: data.decode().encode("utf-16-le"),
    "utf16be": lambda data: data.decode().encode("utf-16-be"),
    "sha256": _digest("sha256"),
    "sha1": _digest("sha1"),
    "md5": _digest("md5"),
    "upper": bytes.upper,
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "zlib": zlib.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}

_PLACEHOLDER = re.compile(rb"\{([A-Z][A-Z0-9_]*)((?:\|[^{}|]*)*)\}")


def apply(value: bytes, steps: list[str]) -> bytes:
    for step in steps:
        name, _, argument = step.partition(":")
        if name == "slice":
            start, _, stop = argument.partition(":")
            value = value[int(start) if start else None : int(stop) if stop else None]
        elif name == "pre":
            value = argument.encode() + value
        elif name == "post":
            value = value + argument.encode()
        else:
            value = TRANSFORMS[name](value)
    return value


def render(template: bytes, found: dict[str, str]) -> bytes:
    """The template with every ``{NAME|step|step}`` replaced by the transformed value."""

    def replace(match: re.Match[bytes]) -> bytes:
        steps = [s for s in match.group(2).decode().split("|") if s]
        return apply(found[match.group(1).decode()].encode(), steps)

    return _PLACEHOLDER.sub(replace, template)


@dataclass(frozen=True)
class Expected:
    """One hit a corpus file must produce. ``needle`` is a canary id or ``shape:<name>``."""

    source: str
    line: int
    needle: str
    form: str
    offset: int | None = None

    @property
    def shape(self) -> bool:
        return self.needle.startswith("shape:")


@dataclass(frozen=True)
class Rendered:
    name: str
    data: bytes
    expected: list[Expected]
    near_misses: (
        int  #: ``# ok:`` lines (the strict comparison covers them like any line without hits)
    )


_COMPRESS = {".gz": gzip.compress, ".zst": lambda data: zstandard.ZstdCompressor().compress(data)}


def render_text(relative: str, template: bytes, found: dict[str, str]) -> Rendered:
    """A text template: ``# expect:`` / ``# ok:`` lines annotate the next data line."""
    name = relative.removesuffix(".tmpl")
    lines = template.split(b"\n")
    expected: list[Expected] = []
    near_misses = 0
    waiting: list[tuple[str, str]] = []
    waiting_ok = False
    for number, line in enumerate(lines, start=1):
        text = line.decode()
        if text.startswith("# expect:"):
            needle, form = text.removeprefix("# expect:").split()
            waiting.append((needle, form))
        elif text.startswith("# ok:"):
            waiting_ok = True
        elif waiting or waiting_ok:
            expected += [Expected(name, number, needle, form) for needle, form in waiting]
            near_misses += waiting_ok
            waiting, waiting_ok = [], False
    data = render(template, found)
    assert data.count(b"\n") == template.count(b"\n"), (
        f"{relative}: a placeholder rendered a newline"
    )
    for suffix, compress in _COMPRESS.items():
        if name.endswith(suffix) and relative.endswith(".tmpl"):
            data = compress(data)
    return Rendered(name, data, expected, near_misses)


#: How a compressed recipe part may be written as base64 text (``"base64": "url"``).
BASE64_STYLES = {
    "standard": base64.b64encode,
    "url": lambda data: base64.urlsafe_b64encode(data).rstrip(b"="),
    "json": lambda data: base64.b64encode(data).replace(b"/", b"\\/"),
    "mime": lambda data: base64.encodebytes(data).replace(b"\n", b"\r\n"),
}


def member_kind(form: str) -> str:
    """The layer an embedded blob's source is named after: ``gzip`` or ``base64+gzip``."""
    layers = form.split("+")
    return "+".join(layers[:2]) if layers[0] == "base64" else layers[0]


def render_recipe(relative: str, recipe: dict, found: dict[str, str]) -> Rendered:
    """A binary recipe (``*.bin.json``): parts of noise, text and compressed text, and exact hits."""
    name = relative.removesuffix(".json")
    data = bytearray()
    starts = []
    inner: list[bytes] = []  # what each compressed part holds, uncompressed
    for part in recipe["parts"]:
        starts.append(len(data))
        inner.append(b"")
        if "noise" in part:
            data += random.Random(part["seed"]).randbytes(part["noise"])
        elif "text" in part:
            data += render(part["text"].encode(), found)
        else:
            kind = next(k for k in ("zstd", "gzip", "zlib") if k in part)
            inner[-1] = render(part[kind].encode(), found)
            blob = TRANSFORMS[kind](inner[-1])
            blob = blob[: part.get("truncate", len(blob))]
            data += BASE64_STYLES[part["base64"]](blob) if "base64" in part else blob
    expected = []
    for hit in recipe["expect"]:
        start = starts[hit["part"]]
        if "find" in hit:  # where a rendered text sits inside the part (a literal kept by zstd)
            end = starts[hit["part"] + 1] if hit["part"] + 1 < len(starts) else len(data)
            hit = {**hit, "at": data.find(render(hit["find"].encode(), found), start, end) - start}
        if hit.get("embedded"):
            source = f"{name}!{member_kind(hit['form'])}@{start}"
            offset = hit["at"]
            line = 1 + inner[hit["part"]].count(b"\n", 0, offset)
        else:
            source = name
            offset = start + hit.get("at", 0)
            line = 1 + data.count(b"\n", 0, offset)
        expected.append(Expected(source, line, hit["needle"], hit["form"], offset))
    return Rendered(name, bytes(data), expected, 0)


def render_corpus(target: Path, seed: int = SEED) -> list[Rendered]:
    """Write every corpus file, rendered, under ``target``; return what each must produce."""
    found = values(seed)
    rendered = []
    for path in sorted(CORPUS.rglob("*")):
        if path.is_dir() or path.name == "README.md":
            continue
        relative = path.relative_to(CORPUS).as_posix()
        if relative.endswith(".bin.json"):
            item = render_recipe(relative, json.loads(path.read_text()), found)
        else:
            item = render_text(relative, path.read_bytes(), found)
        out = target / item.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(item.data)
        rendered.append(item)
    return rendered

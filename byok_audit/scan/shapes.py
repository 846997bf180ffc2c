"""Real provider key shapes: what standalone mode hunts for, and which parts of a key are not secret.

The regexes follow gitleaks/trufflehog for ``sk-ant-api03-``/``sk-ant-admin01-`` and the OpenAI formats,
plus our own rules for subscription OAuth tokens (``sk-ant-oat01-``, ``sk-ant-ort01-``) that no mainstream
scanner covers. Every shape starts with a literal *anchor*; the literal engine finds anchors and the regex
here confirms the shape at that spot, so shapes cost nothing extra on the fast path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BODY = rb"[A-Za-z0-9_-]"
_END = rb"(?![A-Za-z0-9_-])"
_OPENAI_HALF = rb"(?:" + _BODY + rb"{74}|" + _BODY + rb"{58})"
OPENAI_MARKER = b"T3BlbkFJ"  # base64 of "OpenAI": the middle of every OpenAI key


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    anchor: bytes
    pattern: bytes
    #: characters before the anchor where the key starts (the legacy OpenAI anchor sits mid-key)
    lead: int = 0


SHAPES: tuple[Shape, ...] = (
    Shape("anthropic-api03", b"sk-ant-", rb"sk-ant-api03-" + _BODY + rb"{93}AA"),
    Shape("anthropic-admin01", b"sk-ant-", rb"sk-ant-admin01-" + _BODY + rb"{93}AA"),
    Shape("anthropic-oat01", b"sk-ant-", rb"sk-ant-oat01-" + _BODY + rb"{95}"),
    Shape("anthropic-ort01", b"sk-ant-", rb"sk-ant-ort01-" + _BODY + rb"{80,120}"),
    # loose fallback for Anthropic formats not listed above (api04, …), as research §3.3 recommends
    Shape("anthropic-other", b"sk-ant-", rb"sk-ant-[a-z]+\d\d-" + _BODY + rb"{80,120}"),
    Shape("openai-proj", b"sk-proj-", rb"sk-proj-" + _OPENAI_HALF + OPENAI_MARKER + _OPENAI_HALF),
    Shape(
        "openai-svcacct",
        b"sk-svcacct-",
        rb"sk-svcacct-" + _OPENAI_HALF + OPENAI_MARKER + _OPENAI_HALF,
    ),
    Shape(
        "openai-admin", b"sk-admin-", rb"sk-admin-" + _OPENAI_HALF + OPENAI_MARKER + _OPENAI_HALF
    ),
    Shape("openai-legacy", OPENAI_MARKER, rb"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}", lead=23),
)

#: The longest key any shape can match (``sk-svcacct-`` + 74 + marker + 74): context a confirmation needs.
MAX_SHAPE_LEN = 11 + 74 + 8 + 74

_COMPILED: dict[bytes, re.Pattern[bytes]] = {}


def _regex_for(anchor: bytes) -> re.Pattern[bytes]:
    """One regex per anchor: its shapes in order, each a named group, each ending at a key boundary."""
    regex = _COMPILED.get(anchor)
    if regex is None:
        alternatives = [
            b"(?P<" + s.name.replace("-", "_").encode() + b">" + s.pattern + b")" + _END
            for s in SHAPES
            if s.anchor == anchor
        ]
        regex = _COMPILED[anchor] = re.compile(b"|".join(alternatives))
    return regex


ANCHORS: tuple[bytes, ...] = tuple(dict.fromkeys(s.anchor for s in SHAPES))
_LEAD = {s.anchor: s.lead for s in SHAPES}


def confirm(anchor: bytes, window: bytes, at: int) -> tuple[str, int, int] | None:
    """The shape whose anchor was found at ``window[at:]``: ``(name, start, end)`` in window offsets."""
    start = at - _LEAD[anchor]
    if start < 0:
        return None
    match = _regex_for(anchor).match(window, start)
    if match is None or match.lastgroup is None:
        return None
    return match.lastgroup.replace("_", "-"), match.start(), match.end()


@dataclass(frozen=True, slots=True)
class KeyLayout:
    """Which characters of a key are public structure (prefix, fixed markers) rather than secret."""

    prefix_len: int
    constant: frozenset[int]


_PREFIX = re.compile(r"sk-(?:ant-[a-z]+\d\d|proj|svcacct|admin)-|sk-(?=[A-Za-z0-9]{20}T3BlbkFJ)")


def layout(value: str) -> KeyLayout:
    """Known prefix and constant positions of a provider key; an unknown secret is all secret."""
    prefix = _PREFIX.match(value)
    if prefix is None:
        return KeyLayout(0, frozenset())
    constant: set[int] = set()
    marker = value.find(OPENAI_MARKER.decode(), prefix.end())
    if marker >= 0:
        constant.update(range(marker, marker + len(OPENAI_MARKER)))
    if value.startswith(("sk-ant-api", "sk-ant-admin")) and value.endswith("AA"):
        constant.update((len(value) - 2, len(value) - 1))
    return KeyLayout(prefix.end(), frozenset(constant))

"""Excerpts that show where a secret leaked without leaking it again.

The matched bytes are replaced by the canary's label. Around them, every long token (a run of key, hex,
base64, percent- or backslash-escape characters) is masked down to a known key prefix or its first four
characters, so the same secret in another form, another canary, or an unrelated real key next to the hit
is not copied into a report. Token runs are measured over the whole context window, not just the part
shown, so a key cut by the edge of the excerpt is still recognised and masked.
"""

from __future__ import annotations

import re

#: How many characters of context an excerpt shows on each side of the hit.
EXCERPT_CHARS = 48
#: Tokens at least this long are masked.
MASK_MIN = 20

# '=' is left out so "key=value" splits before the value; base64 padding just ends a run
_TOKEN = re.compile(r"[A-Za-z0-9_\-+%\\]{" + str(MASK_MIN) + ",}")
_KNOWN_PREFIX = re.compile(r"sk-(?:ant-[a-z]+\d\d-|proj-|svcacct-|admin-)?")


def _mask(match: re.Match[str]) -> str:
    token = match.group()
    prefix = _KNOWN_PREFIX.match(token)
    shown = prefix.group() if prefix and prefix.end() > 3 else token[:4]
    return f"{shown}…"


_SHOWN = {"\n": "⏎", "\t": " ", "\r": ""}


def _printable(text: str) -> str:
    return "".join(
        ch if ch.isprintable() and ch != "\ufffd" else _SHOWN.get(ch, "·") for ch in text
    )


def _side(data: bytes) -> str:
    # NULs dropped first: UTF-16 text around the hit becomes a token run like any other and is masked
    return _TOKEN.sub(_mask, data.decode("utf-8", errors="replace").replace("\x00", ""))


def excerpt(window: bytes, start: int, end: int, label: str, chars: int = EXCERPT_CHARS) -> str:
    """``window`` with ``window[start:end]`` shown as ``«label»``, neighbours masked, one line."""
    before = _side(window[:start])[-chars:]
    after = _side(window[end:])[:chars]
    return f"{_printable(before)}«{label}»{_printable(after)}"

"""A hit: one place where a known secret (or a real-shaped key) was found, safe to print and save."""

from __future__ import annotations

import re

from pydantic import ConfigDict

from byok_audit.models.base import Strict


class Hit(Strict):
    """Which needle, in which form, where. Never the secret: a fingerprint and a redacted excerpt."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)

    canary_id: str | None  #: ``None`` for a standalone shape match
    role: str  #: a CanaryRole value (``key``, ``prompt``, …) or ``shape:<name>``
    fingerprint: str  #: first 8 hex digits of SHA-256 of the canary (or of the matched key)
    #: ``raw``, ``base64``, ``fragment``, ``sha256-hex``, ``gzip+raw``, ``base64+gzip+raw``,
    #: ``sse-reassembled``, …
    form: str
    #: file path, ``exchange 12 request body`` or ``exchange 12 message 3 (client)``;
    #: ``path!gzip@OFFSET`` / ``path!base64+gzip@OFFSET`` for an embedded (base64) compressed blob
    source: str
    offset: int  #: byte offset in the (decoded) source
    line: int  #: 1-based line of ``offset``
    excerpt: str  #: surrounding text, the needle replaced by its label and other long tokens masked
    length: int = 0  #: bytes matched (a fragment's length tells how much of the key leaked)

    @property
    def label(self) -> str:
        """``key:alice-1#ab12cd34`` or ``shape:anthropic-api03#ab12cd34``."""
        name = f"{self.role}:{self.canary_id}" if self.canary_id is not None else self.role
        return f"{name}#{self.fingerprint}"

    @property
    def sort_key(self) -> tuple[tuple[object, ...], int, str, str]:
        return natural_key(self.source), self.offset, self.canary_id or "", self.form


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[object, ...]:
    """``exchange 2`` sorts before ``exchange 10``; ties broken by the text itself."""
    parts = _DIGITS.split(text)
    return (*((int(p) if i % 2 else p) for i, p in enumerate(parts)), text)

"""Provider API keys as values that cannot leak by accident, and the rules for accepting one."""

from __future__ import annotations

import re

PROVIDER_ANTHROPIC = "anthropic"
CONSOLE_KEY = re.compile(r"sk-ant-api03-[A-Za-z0-9_-]{93}AA")
OAUTH_PREFIX = "sk-ant-oat"
DISPLAY_SUFFIX_CHARS = 4
MAX_SUBMITTED_CHARS = 1024


class KeyRejected(ValueError):
    """A submitted key is refused. The message explains why and never contains the value."""

    def __init__(self, message: str, *, status: int, kind: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


class ApiKey:
    """A plaintext provider key. repr/str show only the declared display suffix."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def last4(self) -> str:
        return self._value[-DISPLAY_SUFFIX_CHARS:]

    def __repr__(self) -> str:
        return f"ApiKey(…{self.last4})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> object:
        raise TypeError("ApiKey is not picklable")


def accept_anthropic_key(value: str) -> ApiKey:
    """Accept only an Anthropic Console key; explain every refusal without echoing the value."""
    if value.startswith(OAUTH_PREFIX):
        raise KeyRejected(
            "subscription OAuth tokens (sk-ant-oat01-…) are refused: Anthropic's terms do not let "
            "third-party services route requests through Claude Free/Pro/Max subscription "
            "credentials. Create an API key in the Anthropic Console and store that instead.",
            status=400,
            kind="oauth_token_refused",
        )
    if value != value.strip():
        raise KeyRejected(
            "the key has leading or trailing whitespace; paste the key alone.",
            status=422,
            kind="malformed_key",
        )
    if CONSOLE_KEY.fullmatch(value) is None:
        raise KeyRejected(
            "this is not an Anthropic API key: expected 'sk-ant-api03-' followed by 93 characters "
            "of A-Z, a-z, 0-9, '_' or '-' and ending in 'AA' (108 characters in all).",
            status=422,
            kind="malformed_key",
        )
    return ApiKey(value)

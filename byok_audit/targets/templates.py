"""``{placeholder}`` templates in target profiles: listing them, and filling them with typed values.

A string that is exactly one placeholder takes the value's own type (``"{max_tokens}"`` becomes ``64``),
so JSON bodies keep ints and booleans; anywhere else values are formatted into the text. ``{{`` and
``}}`` are literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[{}]")

#: Available wherever the target is started or its files are named.
START_VARS = frozenset({"port", "workdir", "master_secret"})
#: Available in the API request templates (plus values captured from responses, like ``{token}``).
REQUEST_VARS = START_VARS | {"key", "prompt", "model", "max_tokens", "stream", "user"}


class TemplateSyntaxError(ValueError):
    pass


def placeholders(text: str) -> list[str]:
    """Placeholder names in ``text``, in order. A stray brace is an error (write ``{{`` for a literal)."""
    names = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if match.group(1) is None:
            raise TemplateSyntaxError(
                f"stray {token!r} at position {match.start()}: placeholders look like "
                "{name}; write {{ or }} for a literal brace"
            )
        names.append(match.group(1))
    return names


def fill_str(text: str, values: Mapping[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        if name is None:
            raise TemplateSyntaxError(f"stray {token!r} in template")
        if name not in values:
            raise KeyError(name)
        value = values[name]
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return _TOKEN.sub(one, text)


def fill(value: Any, values: Mapping[str, Any]) -> Any:
    """Fill every string inside ``value`` (dicts and lists recursively); whole placeholders keep their type."""
    if isinstance(value, str):
        whole = _TOKEN.fullmatch(value)
        if whole is not None and whole.group(1) is not None:
            name = whole.group(1)
            if name not in values:
                raise KeyError(name)
            return values[name]
        return fill_str(value, values)
    if isinstance(value, dict):
        return {fill_str(k, values): fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value

"""Common pydantic configuration and the byte-blob type used in evidence."""

from __future__ import annotations

import base64
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

_B64_PREFIX = "base64:"


class Strict(BaseModel):
    """Base for every boundary model: unknown fields are errors, input is never echoed in errors."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


def _blob_in(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        if value.startswith(_B64_PREFIX):
            return base64.b64decode(value[len(_B64_PREFIX) :], validate=True)
        return value.encode()
    raise TypeError("expected bytes or str")


def _blob_out(value: bytes) -> str:
    """Text stays readable in a saved bundle; anything else (or text that looks encoded) is base64."""
    try:
        text = value.decode()
    except UnicodeDecodeError:
        return _B64_PREFIX + base64.b64encode(value).decode()
    if text.startswith(_B64_PREFIX):
        return _B64_PREFIX + base64.b64encode(value).decode()
    return text


#: Raw bytes that serialise to JSON as UTF-8 text when possible, else as ``base64:...``.
Blob = Annotated[bytes, BeforeValidator(_blob_in), PlainSerializer(_blob_out, return_type=str)]

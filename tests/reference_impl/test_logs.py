"""Redaction and the JSON-line format (the end-to-end canary sweep is in test_app_messages.py)."""

from __future__ import annotations

import json
import logging

from reference_impl.logs import (
    JsonLineFormatter,
    RedactionFilter,
    RequestLogger,
    RequestMeta,
    redact,
)
from tests.reference_impl.support import canary_key


def test_redact_masks_keys_anywhere_not_only_at_the_start() -> None:
    key = canary_key()
    text = f"upstream said: invalid x-api-key{key}, retry; also sk-proj-abcdefghijkl and {key}."
    masked = redact(text)
    assert key[13:30] not in masked
    assert "sk-proj-abcdefghijkl" not in masked
    assert masked.startswith("upstream said: invalid x-api-key")


def test_redact_masks_long_hex_runs() -> None:
    secret = "ab12" * 16
    assert secret not in redact(f"master={secret}")
    assert "fp_0123456789abcdef" in redact("fingerprint fp_0123456789abcdef")


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("x", logging.ERROR, __file__, 1, message, args, exc_info)


def test_filter_rewrites_arguments_and_exception_text() -> None:
    key = canary_key()
    try:
        raise RuntimeError(f"provider rejected {key}")
    except RuntimeError as error:
        record = _record("calling with %s", key, exc=error)
    assert RedactionFilter().filter(record)
    assert key not in record.getMessage()
    assert record.exc_text is not None and key[13:30] not in record.exc_text


def test_json_formatter_writes_metadata_and_only_the_exception_type() -> None:
    key = canary_key()
    try:
        raise ValueError(f"bad {key}")
    except ValueError as error:
        record = _record("boom %s", key, exc=error)
    line = JsonLineFormatter().format(record)
    payload = json.loads(line)
    assert payload["exception_type"] == "ValueError"
    assert key[13:30] not in line


def test_request_logger_writes_one_event_line(caplog) -> None:  # type: ignore[no-untyped-def]
    meta = RequestMeta(started=0.0, route="/api/v1/messages", method="POST", model="m", status=200)
    with caplog.at_level(logging.INFO, logger="byok.request"):
        RequestLogger().log(meta)
    (record,) = caplog.records
    payload = json.loads(JsonLineFormatter().format(record))
    assert payload["event"] == "request"
    assert payload["route"] == "/api/v1/messages"
    assert payload["status"] == 200

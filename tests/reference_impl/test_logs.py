"""Redaction and the JSON-line format (the end-to-end canary sweep is in test_app_messages.py)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from reference_impl.logs import (
    JsonLineFormatter,
    RedactionFilter,
    RequestLogger,
    RequestMeta,
    redact,
)
from tests.reference_impl.support import REPO_ROOT, assert_secret_absent, canary_key


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


_LOG_FROM_A_CHILD = """
import logging, sys
from pathlib import Path
from reference_impl.logs import configure_logging
log_file = Path(sys.argv[2]) if sys.argv[2] else None
configure_logging(log_file, to_stderr=sys.argv[3] == "stderr")
key = sys.argv[1]
try:
    raise RuntimeError(f"provider said {key}")
except RuntimeError:
    logging.getLogger("uvicorn.error").exception("Exception in ASGI application %s", key)
logging.getLogger("some.library").error("warning about %s", key)
"""


def _log_in_a_child(tmp_path: Path, *, log_file: bool, stderr: bool) -> tuple[str, str]:
    """Configure logging in a fresh interpreter (the root logger is process-global) and log a
    key-bearing error with a traceback from child loggers; returns (stderr, log file text)."""
    key = canary_key()
    path = tmp_path / "server.log"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _LOG_FROM_A_CHILD,
            key,
            str(path) if log_file else "",
            "stderr" if stderr else "quiet",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        check=True,
    )
    written = path.read_text() if path.exists() else ""
    for where, text in (
        ("stderr", result.stderr),
        ("the log file", written),
        ("stdout", result.stdout),
    ):
        assert_secret_absent(text, key, where=where)
    return result.stderr, written


def test_no_sink_means_silence_not_python_last_resort_tracebacks(tmp_path: Path) -> None:
    stderr, written = _log_in_a_child(tmp_path, log_file=False, stderr=False)
    assert stderr == "" and written == ""


def test_records_from_child_loggers_are_redacted_by_every_handler(tmp_path: Path) -> None:
    stderr, written = _log_in_a_child(tmp_path, log_file=True, stderr=True)
    for text in (stderr, written):
        lines = [json.loads(line) for line in text.splitlines()]
        assert [line["logger"] for line in lines] == ["uvicorn.error", "some.library"]
        assert lines[0]["exception_type"] == "RuntimeError"
        assert "sk-[REDACTED]" in lines[0]["message"]

"""Metadata-only JSON-line logging, with a redaction filter as defence in depth.

What is logged per request: time, user id, route template, method, model, input/output and
prompt-cache tokens, latency, status, upstream host and status, error kind. Never a prompt, a
response, a key, a master secret, a header or a query string. The filter below masks key-shaped
and secret-shaped strings anywhere in any record, in case some library logs one anyway; the
HTTP client loggers (which print URLs and response headers) are held at WARNING and the
uvicorn access log (which prints query strings) is off (research §4.1, §4.3).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REQUEST_LOGGER = "byok.request"
SERVER_LOGGER = "byok.server"

_KEY_SHAPED = re.compile(r"sk-[A-Za-z0-9_\-]{6,}")
_LONG_HEX = re.compile(r"[0-9a-fA-F]{40,}")
_QUIET_LOGGERS = ("httpx", "httpcore", "hpack", "h11", "asyncio", "multipart")


def redact(text: str) -> str:
    """Mask provider-key-shaped strings and long hex runs (master secrets) anywhere in text."""
    return _LONG_HEX.sub("[REDACTED-HEX]", _KEY_SHAPED.sub("sk-[REDACTED]", text))


class RedactionFilter(logging.Filter):
    """Rewrites each record's message, arguments and exception text through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line. Exceptions contribute their type name only: exception
    messages can carry provider bodies or request data."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
        }
        meta = getattr(record, "byok_meta", None)
        if isinstance(meta, dict):
            payload.update({k: redact(v) if isinstance(v, str) else v for k, v in meta.items()})
        else:
            payload["message"] = redact(record.getMessage())
        if record.exc_info and record.exc_info[0] is not None:
            payload["exception_type"] = record.exc_info[0].__name__
        return json.dumps(payload, separators=(",", ":"))


def configure_logging(log_file: Path | None, *, to_stderr: bool = True) -> None:
    """Replace every root handler with JSON-line handlers that redact, and quiet noisy loggers.

    The redaction filter sits on each handler, not on the root logger: a logger's own filters
    never see records propagated from its children. With no sink at all a NullHandler is
    installed, because a handler-less tree makes `logging.lastResort` print raw messages and
    full tracebacks to stderr, past every filter and formatter here.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for existing in list(root.filters):
        root.removeFilter(existing)
    root.setLevel(logging.INFO)
    handlers: list[logging.Handler] = []
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    if to_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    if not handlers:
        handlers.append(logging.NullHandler())
    for handler in handlers:
        handler.setFormatter(JsonLineFormatter())
        handler.addFilter(RedactionFilter())
        root.addHandler(handler)
    # A logger that stops propagation without handlers of its own would still reach lastResort.
    logging.lastResort = None
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.captureWarnings(True)


@dataclass
class RequestMeta:
    """What one request contributes to its single metadata line; filled in as it goes."""

    started: float
    route: str = "<unmatched>"
    method: str = ""
    user_id: str | None = None
    model: str | None = None
    stream: bool | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    upstream_host: str | None = None
    upstream_status: int | None = None
    status: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class RequestLogger:
    """Writes exactly one `event: request` line per HTTP request (at the end of its body)."""

    def __init__(self) -> None:
        self._logger = logging.getLogger(REQUEST_LOGGER)

    def log(self, meta: RequestMeta) -> None:
        fields = asdict(meta)
        fields.pop("started")
        extra = fields.pop("extra")
        self._logger.info("request", extra={"byok_meta": {"event": "request", **fields, **extra}})


def log_event(event: str, **fields: Any) -> None:
    """A server lifecycle event (startup, rotation progress) as one metadata line."""
    logging.getLogger(SERVER_LOGGER).info(event, extra={"byok_meta": {"event": event, **fields}})

"""The outer guard every HTTP request passes: no query strings, bounded bodies, one log line.

Query strings are refused outright (this API takes none), so a key pasted into a URL is never
accepted and the URL is never logged. Bodies over the limit get 413 before they are parsed.
Exactly one metadata line is written per request, when its last body byte has been sent
(so streaming replies are logged with their final token counts).
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_impl.logs import RequestLogger, RequestMeta

META_SCOPE_KEY = "byok.request_meta"


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than this server's limit of {limit} bytes")


def request_meta(scope: Scope) -> RequestMeta:
    return scope[META_SCOPE_KEY]


async def _send_error(send: Send, status: int, kind: str, message: str) -> None:
    body = json.dumps({"error": {"type": kind, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    def __init__(self, app: ASGIApp, *, request_logger: RequestLogger, max_body_bytes: int) -> None:
        self.app = app
        self.request_logger = request_logger
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        meta = RequestMeta(started=time.monotonic(), method=scope["method"])
        scope[META_SCOPE_KEY] = meta
        state: dict[str, Any] = {"status": None, "logged": False}

        def finish(status: int | None) -> None:
            if state["logged"]:
                return
            state["logged"] = True
            route = scope.get("route")
            meta.route = getattr(route, "path", None) or "<unmatched>"
            meta.status = status
            meta.latency_ms = round((time.monotonic() - meta.started) * 1000)
            self.request_logger.log(meta)

        if scope.get("query_string"):
            meta.error = "query_string_refused"
            await _send_error(
                send,
                400,
                "query_string_refused",
                "this API takes no URL query parameters; an API key in particular must never be "
                "put in a URL. Send it in the JSON body of PUT /api/v1/claude-key.",
            )
            finish(400)
            return

        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            meta.error = "body_too_large"
            await _send_error(
                send,
                413,
                "body_too_large",
                f"request body is larger than this server's limit of {self.max_body_bytes} bytes",
            )
            finish(413)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    meta.error = "body_too_large"
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def logging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finish(state["status"])

        try:
            await self.app(scope, limited_receive, logging_send)
        except BaseException:
            meta.error = meta.error or "unhandled_exception"
            finish(state["status"] or 500)
            raise
        finally:
            if not state["logged"]:
                meta.error = meta.error or "client_disconnected"
                finish(state["status"])

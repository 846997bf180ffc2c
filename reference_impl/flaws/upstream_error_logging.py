"""log-key-on-error: a response hook logs every failed provider request with its headers.

The metadata formatter redacts string fields; the headers arrive as a nested object, which it passes
through untouched, so the ``x-api-key`` header lands in the log on every provider error.
"""

from __future__ import annotations

import logging

import httpx

from reference_impl.flaws.base import Flaw, swap
from reference_impl.upstream import AnthropicUpstream

_log = logging.getLogger("byok.upstream")


async def log_failed_request(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    request = response.request
    _log.warning(
        "provider request failed",
        extra={
            "byok_meta": {
                "event": "provider_error",
                "upstream_status": response.status_code,
                "request": {
                    "method": request.method,
                    "url": str(request.url),
                    "headers": dict(request.headers),
                },
            }
        },
    )


class ErrorLoggingUpstream(AnthropicUpstream):
    def __init__(self, *, timeout_s: float) -> None:
        super().__init__(timeout_s=timeout_s)
        self._client.event_hooks = {"request": [], "response": [log_failed_request]}


FLAW = Flaw(
    name="log-key-on-error",
    component="upstream",
    summary="logs the request headers (x-api-key included) of every failed provider call",
    apply=lambda c, ctx: swap(
        c, upstream=ErrorLoggingUpstream(timeout_s=ctx.settings.upstream_timeout_s)
    ),
)

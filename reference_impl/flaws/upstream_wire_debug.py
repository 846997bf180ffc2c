"""httpx-debug-logging: wire debugging left on: a request hook logs each outgoing request with the
repr of its headers to its own stderr handler (big-AGI's ``SERVER_DEBUG_WIRE``).

httpx's ``Headers`` repr masks ``Authorization`` (as ``[secure]``) but not ``x-api-key``, so the
debug line carries Anthropic's key in full; the handler is not the redacting root handler.
"""

from __future__ import annotations

import logging
import sys

import httpx

from reference_impl.flaws.base import Flaw, swap
from reference_impl.upstream import AnthropicUpstream

WIRE_LOGGER = "byok.wire"


def wire_logger() -> logging.Logger:
    logger = logging.getLogger(WIRE_LOGGER)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s DEBUG wire %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger


class WireDebugUpstream(AnthropicUpstream):
    def __init__(self, *, timeout_s: float) -> None:
        super().__init__(timeout_s=timeout_s)
        self._wire = wire_logger()
        self._client.event_hooks = {"request": [self._log_request], "response": []}

    async def _log_request(self, request: httpx.Request) -> None:
        self._wire.debug("-> %s %s headers=%r", request.method, request.url, request.headers)


FLAW = Flaw(
    name="httpx-debug-logging",
    component="upstream",
    summary="DEBUG wire log of outgoing requests: httpx's headers repr hides Authorization, not x-api-key",
    apply=lambda c, ctx: swap(
        c, upstream=WireDebugUpstream(timeout_s=ctx.settings.upstream_timeout_s)
    ),
)

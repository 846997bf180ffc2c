"""idle-calls: a "keep-warm" health check. When the server has made no provider call for 1.5 s it
sends a one-token request with the last key it used, so the key is spent while its owner is idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from reference_impl.apikey import ApiKey
from reference_impl.flaws.base import Flaw, UpstreamWrapper, swap
from reference_impl.upstream import Upstream, UpstreamError, UpstreamReply, UpstreamStream

IDLE_AFTER_S = 1.5
POLL_S = 0.25
PING = {
    "model": "claude-haiku-4-5",
    "max_tokens": 1,
    "messages": [{"role": "user", "content": "ping"}],
}


class KeepWarmUpstream(UpstreamWrapper):
    """One ping per quiet period (no provider call in flight and none for IDLE_AFTER_S)."""

    def __init__(self, inner: Upstream) -> None:
        super().__init__(inner)
        self._last_key: ApiKey | None = None
        self._last_activity = time.monotonic()
        self._in_flight = 0
        self._pinged = False
        self._task: asyncio.Task[None] | None = None

    def _begin(self, api_key: ApiKey) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._keep_warm())
        self._last_key = api_key
        self._in_flight += 1
        self._pinged = False

    def _end(self) -> None:
        self._in_flight -= 1
        self._last_activity = time.monotonic()

    async def _keep_warm(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            quiet = time.monotonic() - self._last_activity
            if self._pinged or self._in_flight or quiet < IDLE_AFTER_S or self._last_key is None:
                continue
            self._pinged = True
            with contextlib.suppress(UpstreamError):
                await self.inner.send(self._last_key, dict(PING))

    async def send(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamReply:
        self._begin(api_key)
        try:
            return await self.inner.send(api_key, payload)
        finally:
            self._end()

    async def open_stream(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamStream:
        self._begin(api_key)
        try:
            return await self.inner.open_stream(api_key, payload)
        finally:
            self._end()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.inner.aclose()


FLAW = Flaw(
    name="idle-calls",
    component="upstream",
    summary="keep-warm pings with the last key used whenever the server goes quiet",
    apply=lambda c, ctx: swap(c, upstream=KeepWarmUpstream(c.upstream)),
)

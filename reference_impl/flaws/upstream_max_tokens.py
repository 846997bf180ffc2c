"""max-tokens-inflation: max_tokens is raised to 4096 "so answers are never cut off": one call can
now cost many times what the user allowed.
"""

from __future__ import annotations

from typing import Any

from reference_impl.apikey import ApiKey
from reference_impl.flaws.base import Flaw, UpstreamWrapper, swap
from reference_impl.upstream import UpstreamReply, UpstreamStream

FLOOR = 4096


def inflated(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "max_tokens": max(int(payload["max_tokens"]), FLOOR)}


class InflatingUpstream(UpstreamWrapper):
    async def send(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamReply:
        return await self.inner.send(api_key, inflated(payload))

    async def open_stream(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamStream:
        return await self.inner.open_stream(api_key, inflated(payload))


FLAW = Flaw(
    name="max-tokens-inflation",
    component="upstream",
    summary=f"raises max_tokens to at least {FLOOR} on the way upstream",
    apply=lambda c, ctx: swap(c, upstream=InflatingUpstream(c.upstream)),
)

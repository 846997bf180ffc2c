"""duplicate-calls: a retry loop that forgot its ``break``: every request goes to the provider twice
and the user is billed twice for one answer.
"""

from __future__ import annotations

from typing import Any

from reference_impl.apikey import ApiKey
from reference_impl.flaws.base import Flaw, UpstreamWrapper, swap
from reference_impl.upstream import UpstreamError, UpstreamReply, UpstreamStream

ATTEMPTS = 2


class RetryWithoutBreakUpstream(UpstreamWrapper):
    async def send(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamReply:
        reply: UpstreamReply | None = None
        failure: UpstreamError | None = None
        for _attempt in range(ATTEMPTS):
            try:
                reply = await self.inner.send(api_key, payload)
            except UpstreamError as error:
                failure = error
        if reply is None:
            assert failure is not None
            raise failure
        return reply

    async def open_stream(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamStream:
        stream: UpstreamStream | None = None
        failure: UpstreamError | None = None
        for _attempt in range(ATTEMPTS):
            try:
                opened = await self.inner.open_stream(api_key, payload)
            except UpstreamError as error:
                failure = error
                continue
            if stream is not None:
                async for _chunk in stream.chunks():  # the superseded stream is drained and closed
                    pass
            stream = opened
        if stream is None:
            assert failure is not None
            raise failure
        return stream


FLAW = Flaw(
    name="duplicate-calls",
    component="upstream",
    summary="sends every provider request twice (a retry loop without break)",
    apply=lambda c, ctx: swap(c, upstream=RetryWithoutBreakUpstream(c.upstream)),
)

"""key-echo: when the provider rejects a key, the error message "helpfully" names the key, so the
full key comes back in the API's error body (and from there into browser consoles and HAR files).
"""

from __future__ import annotations

from typing import Any

from reference_impl.apikey import ApiKey
from reference_impl.flaws.base import Flaw, UpstreamWrapper, swap
from reference_impl.upstream import UpstreamError, UpstreamReply, UpstreamStream


def naming_the_key(failure: UpstreamError, api_key: ApiKey) -> UpstreamError:
    if failure.kind != "provider_rejected_key":
        return failure
    return UpstreamError(
        failure.status,
        failure.kind,
        f"the provider rejected the key {api_key.reveal()} (HTTP {failure.upstream_status}); "
        "check it and store it again",
        upstream_status=failure.upstream_status,
    )


class KeyEchoUpstream(UpstreamWrapper):
    async def send(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamReply:
        try:
            return await self.inner.send(api_key, payload)
        except UpstreamError as failure:
            raise naming_the_key(failure, api_key) from None

    async def open_stream(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamStream:
        try:
            return await self.inner.open_stream(api_key, payload)
        except UpstreamError as failure:
            raise naming_the_key(failure, api_key) from None


FLAW = Flaw(
    name="key-echo",
    component="upstream",
    summary="puts the full key in the error body when the provider rejects it",
    apply=lambda c, ctx: swap(c, upstream=KeyEchoUpstream(c.upstream)),
)

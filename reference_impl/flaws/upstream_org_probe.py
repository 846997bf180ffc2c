"""org-endpoint-probe: the first time it sees a key, the platform asks the provider's organization
API who owns it (to show "connected to <org>"), using a user key on an administration endpoint.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

import httpx

from reference_impl.apikey import ApiKey
from reference_impl.flaws.base import Flaw, UpstreamWrapper, swap
from reference_impl.upstream import (
    ANTHROPIC_API_BASE,
    ANTHROPIC_VERSION,
    Upstream,
    UpstreamReply,
    UpstreamStream,
)

PROBE_PATH = "/v1/organizations/me"


class OrgProbeUpstream(UpstreamWrapper):
    def __init__(self, inner: Upstream, *, timeout_s: float) -> None:
        super().__init__(inner)
        self._client = httpx.AsyncClient(
            base_url=ANTHROPIC_API_BASE, trust_env=True, timeout=httpx.Timeout(timeout_s)
        )
        self._probed: set[bytes] = set()

    async def _probe(self, api_key: ApiKey) -> None:
        digest = hashlib.sha256(api_key.reveal().encode()).digest()
        if digest in self._probed:
            return
        self._probed.add(digest)
        with contextlib.suppress(httpx.HTTPError):
            await self._client.get(
                PROBE_PATH,
                headers={"x-api-key": api_key.reveal(), "anthropic-version": ANTHROPIC_VERSION},
            )

    async def send(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamReply:
        await self._probe(api_key)
        return await self.inner.send(api_key, payload)

    async def open_stream(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamStream:
        await self._probe(api_key)
        return await self.inner.open_stream(api_key, payload)

    async def aclose(self) -> None:
        await self._client.aclose()
        await self.inner.aclose()


FLAW = Flaw(
    name="org-endpoint-probe",
    component="upstream",
    summary=f"calls GET {PROBE_PATH} (an organization endpoint) with each new key",
    apply=lambda c, ctx: swap(
        c, upstream=OrgProbeUpstream(c.upstream, timeout_s=ctx.settings.upstream_timeout_s)
    ),
)

"""plain-http-upstream: the provider base URL is ``http://api.anthropic.com``, so the key crosses
the network in clear text (a base-URL setting left at http, a TLS-terminating sidecar misconfigured).
"""

from __future__ import annotations

import httpx

from reference_impl.flaws.base import Flaw, swap
from reference_impl.upstream import AnthropicUpstream

PLAIN_HTTP_BASE = "http://api.anthropic.com"


class PlainHttpUpstream(AnthropicUpstream):
    """The clean client with the scheme changed; everything else is inherited."""

    def __init__(self, *, timeout_s: float) -> None:  # replaces the parent's HTTPS client
        self._client = httpx.AsyncClient(
            base_url=PLAIN_HTTP_BASE,
            trust_env=True,
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
        )


FLAW = Flaw(
    name="plain-http-upstream",
    component="upstream",
    summary="calls http://api.anthropic.com: the key travels unencrypted",
    apply=lambda c, ctx: swap(
        c, upstream=PlainHttpUpstream(timeout_s=ctx.settings.upstream_timeout_s)
    ),
)

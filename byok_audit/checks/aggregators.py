"""The maintained list of LLM routers and AI gateways that must never sit in a BYOK call path.

A router between the platform and the provider sees every prompt, every response and (in BYOK mode) the
user's key: exactly the hop the article's Q2 asks about. Entries name a host (``.example.com`` matches the
domain and every subdomain) and, where the host also serves unrelated APIs, the path prefix of its proxy.
Self-hosted routers (LiteLLM, Portkey OSS, Helicone AI Gateway, Kong) have no fixed host: they are caught by
:func:`llm_api_path`, an LLM-API-shaped request to a host the profile did not declare as a provider.

To add an entry: one :class:`Aggregator` line with a note saying what the service is. Profiles add their own
hosts with ``aggregator_hosts`` (same matching rules).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Aggregator:
    host: str
    name: str
    note: str
    path_prefix: str = ""

    def matches(self, host: str, path: str = "") -> bool:
        return host_matches(self.host, host) and path.startswith(self.path_prefix)


def host_matches(pattern: str, host: str) -> bool:
    """``api.x.com`` matches exactly; ``.x.com`` matches ``x.com`` and any subdomain."""
    pattern, host = pattern.lower(), host.lower()
    if pattern.startswith("."):
        return host == pattern[1:] or host.endswith(pattern)
    return host == pattern


AGGREGATORS: tuple[Aggregator, ...] = (
    Aggregator(
        ".openrouter.ai", "OpenRouter", "multi-provider router; BYOK mode relays the user's key"
    ),
    Aggregator(
        ".portkey.ai", "Portkey", "AI gateway (api.portkey.ai); virtual keys hold provider keys"
    ),
    Aggregator(
        ".helicone.ai",
        "Helicone",
        "proxy/gateway (oai., anthropic., gateway., ai-gateway.helicone.ai) that logs every request",
    ),
    Aggregator(
        "gateway.ai.cloudflare.com", "Cloudflare AI Gateway", "caching/logging proxy per account"
    ),
    Aggregator(".requesty.ai", "Requesty", "router (router.requesty.ai/v1), OpenAI-compatible"),
    Aggregator(".unify.ai", "Unify", "router choosing a provider per prompt (api.unify.ai)"),
    Aggregator(
        ".withmartian.com", "Martian", "model router (withmartian.com/api, api.withmartian.com)"
    ),
    Aggregator(".keywordsai.co", "Keywords AI", "gateway that calls providers with stored keys"),
    Aggregator("ai-gateway.vercel.sh", "Vercel AI Gateway", "multi-provider gateway, BYOK option"),
    Aggregator(
        ".notdiamond.ai", "Not Diamond", "router: receives the prompt to pick the model to call"
    ),
    Aggregator(".edenai.run", "Eden AI", "multi-provider aggregator API"),
    Aggregator(".aimlapi.com", "AI/ML API", "multi-provider aggregator API"),
    Aggregator(
        "api.braintrust.dev", "Braintrust AI Proxy", "caching proxy for many providers", "/v1/proxy"
    ),
    Aggregator("braintrustproxy.com", "Braintrust AI Proxy", "legacy host of the same proxy"),
    Aggregator("glama.ai", "Glama Gateway", "OpenAI-compatible gateway", "/api/gateway"),
)

#: Paths that speak an LLM provider's API. Seen on a host that is not a declared provider, they mean a
#: relay (self-hosted LiteLLM, an internal gateway, a vendor hop). ``/litellm`` is LiteLLM's own prefix.
_LLM_API_PATH = re.compile(
    r"(/chat/completions|/v1/completions|/v1/messages(/count_tokens)?|/v1/complete|/v1/responses"
    r"|:generateContent|:streamGenerateContent)/?$|/litellm(/|$)",
    re.IGNORECASE,
)


def known_aggregator(host: str, path: str, extra_hosts: Sequence[str] = ()) -> Aggregator | None:
    """The maintained or profile-declared aggregator this request was addressed to, if any."""
    for entry in AGGREGATORS:
        if entry.matches(host, path):
            return entry
    for pattern in extra_hosts:
        if host_matches(pattern, host):
            return Aggregator(pattern, pattern, "declared an aggregator by the target profile")
    return None


def llm_api_path(path: str) -> bool:
    """True when a request path is shaped like a provider's completion API (or LiteLLM's)."""
    return bool(_LLM_API_PATH.search(path))

"""The provider client: one direct HTTPS request to Anthropic per user request.

The base URL is a constant: there is no setting, env var or request field that can point the
key anywhere else (no router, no aggregator, no user-supplied base URL). `trust_env=True` lets
HTTPS_PROXY and SSL_CERT_FILE apply, which is how an auditor intercepts the call. No retries:
httpx does none by default and this module adds none, so a provider error is mapped, not
repeated. Provider error bodies are never relayed or logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from reference_impl.apikey import ApiKey

ANTHROPIC_API_BASE = "https://api.anthropic.com"
ANTHROPIC_HOST = "api.anthropic.com"
MESSAGES_PATH = "/v1/messages"
ANTHROPIC_VERSION = "2023-06-01"

_SAFE_ERROR_TYPE = re.compile(r"[a-z_]{1,64}")
_RETRY_AFTER = re.compile(r"\d{1,6}")
_MAX_SSE_LINE = 1 << 20


class UpstreamError(Exception):
    """A provider failure mapped to a client-facing status with a message we wrote."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        *,
        upstream_status: int | None = None,
        retry_after: str | None = None,
        may_have_run: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.upstream_status = upstream_status
        self.retry_after = retry_after
        # True when the provider may have run (and billed) the request although no usable
        # answer came back: a timeout after sending, a broken or malformed reply.
        self.may_have_run = may_have_run


_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


@dataclass
class Usage:
    """Token counts as the provider reported them (None: not reported).

    `final` is set by the provider's last word on the request (a JSON reply's usage, a stream's
    message_delta); a stream cut off before it has no final output count.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    final: bool = False

    @property
    def all_input_tokens(self) -> int | None:
        """Input tokens of every kind: uncached, written to the prompt cache, read from it."""
        parts = (
            self.input_tokens,
            self.cache_creation_input_tokens,
            self.cache_read_input_tokens,
        )
        return None if all(part is None for part in parts) else sum(part or 0 for part in parts)

    def update(self, reported: dict[str, Any]) -> None:
        """Take every integer count in a provider `usage` object (later reports win)."""
        for name in _USAGE_FIELDS:
            value = reported.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(self, name, value)


@dataclass
class UpstreamReply:
    status: int
    body: bytes
    usage: Usage


class SseUsageTracker:
    """Reads token counts out of an Anthropic SSE stream as it passes; keeps no content."""

    def __init__(self) -> None:
        self.usage = Usage()
        self._partial = b""

    def feed(self, chunk: bytes) -> None:
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > _MAX_SSE_LINE:
            self._partial = b""
        for line in lines:
            if line.startswith(b"data:"):
                self._read_event(line[5:].strip())

    def _read_event(self, data: bytes) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        usage: Any = None
        if event.get("type") == "message_start" and isinstance(event.get("message"), dict):
            usage = event["message"].get("usage")
        elif event.get("type") == "message_delta":
            usage = event.get("usage")
        if isinstance(usage, dict):
            self.usage.update(usage)
            if event["type"] == "message_delta" and self.usage.output_tokens is not None:
                self.usage.final = True


def usage_from_json(body: bytes) -> Usage:
    try:
        reported = json.loads(body).get("usage") or {}
    except (ValueError, AttributeError):
        return Usage()
    usage = Usage()
    if isinstance(reported, dict):
        usage.update(reported)
        usage.final = usage.output_tokens is not None
    return usage


def _is_json_object(body: bytes) -> bool:
    """A reply we relay must at least parse: a truncated body is the provider's failure, not a 200."""
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


def _provider_error_type(body: bytes) -> str | None:
    """Anthropic's enumerated error type (e.g. `invalid_request_error`), never its message."""
    try:
        kind = json.loads(body)["error"]["type"]
    except (ValueError, KeyError, TypeError):
        return None
    return kind if isinstance(kind, str) and _SAFE_ERROR_TYPE.fullmatch(kind) else None


def map_provider_status(status: int, headers: httpx.Headers, body: bytes) -> UpstreamError:
    provider_type = _provider_error_type(body)
    suffix = f" (provider error type: {provider_type})" if provider_type else ""
    if status in (401, 403):
        return UpstreamError(
            400,
            "provider_rejected_key",
            f"the stored key was rejected by the provider (HTTP {status}){suffix}; "
            "replace it with PUT /api/v1/claude-key",
            upstream_status=status,
        )
    if status == 429:
        retry_after = headers.get("retry-after")
        return UpstreamError(
            429,
            "provider_rate_limited",
            f"the provider rate-limited this key (HTTP 429){suffix}; retry later",
            upstream_status=status,
            retry_after=retry_after
            if retry_after and _RETRY_AFTER.fullmatch(retry_after)
            else None,
        )
    if status == 529 or status == 503:
        return UpstreamError(
            503,
            "provider_overloaded",
            f"the provider is overloaded (HTTP {status}); retry later",
            upstream_status=status,
        )
    if status >= 500:
        return UpstreamError(
            502,
            "provider_error",
            f"the provider failed (HTTP {status}); nothing was retried",
            upstream_status=status,
        )
    if status == 413:
        return UpstreamError(
            413,
            "provider_request_too_large",
            "the provider refused the request as too large",
            upstream_status=status,
        )
    if 400 <= status < 500:
        return UpstreamError(
            400,
            "provider_rejected_request",
            f"the provider rejected the request (HTTP {status}){suffix}",
            upstream_status=status,
        )
    return UpstreamError(
        502,
        "provider_unexpected_status",
        f"the provider answered with an unexpected HTTP {status}",
        upstream_status=status,
    )


class UpstreamStream:
    """An open streaming reply; iterate `chunks()` then read `usage`; `aclose()` always."""

    # A subclass that wraps another stream has no response of its own.
    _response: httpx.Response | None = None

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._tracker = SseUsageTracker()
        self.status = response.status_code

    @property
    def usage(self) -> Usage:
        return self._tracker.usage

    async def chunks(self) -> AsyncIterator[bytes]:
        assert self._response is not None
        try:
            async for chunk in self._response.aiter_bytes():
                self._tracker.feed(chunk)
                yield chunk
        finally:
            await self._response.aclose()

    async def aclose(self) -> None:
        """Release the provider connection, also when `chunks()` never started (idempotent)."""
        if self._response is not None:
            await self._response.aclose()


class Upstream(Protocol):
    """The provider seam (a flawed variant may route elsewhere or substitute the model)."""

    host: str

    async def send(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamReply: ...

    async def open_stream(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamStream: ...

    async def aclose(self) -> None: ...


class AnthropicUpstream:
    host = ANTHROPIC_HOST

    def __init__(self, *, timeout_s: float) -> None:
        self._client = httpx.AsyncClient(
            base_url=ANTHROPIC_API_BASE,
            trust_env=True,
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
        )

    @staticmethod
    def _headers(api_key: ApiKey) -> dict[str, str]:
        return {
            "x-api-key": api_key.reveal(),
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
        }

    async def send(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamReply:
        try:
            response = await self._client.post(
                MESSAGES_PATH, content=json.dumps(payload).encode(), headers=self._headers(api_key)
            )
        except httpx.HTTPError as failure:
            raise _transport_failure(failure) from None
        if response.status_code != 200:
            raise map_provider_status(response.status_code, response.headers, response.content)
        if not _is_json_object(response.content):
            raise UpstreamError(
                502,
                "provider_malformed_reply",
                "the provider's reply was not valid JSON",
                upstream_status=200,
                may_have_run=True,
            )
        return UpstreamReply(200, response.content, usage_from_json(response.content))

    async def open_stream(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamStream:
        request = self._client.build_request(
            "POST",
            MESSAGES_PATH,
            content=json.dumps(payload).encode(),
            headers=self._headers(api_key),
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as failure:
            raise _transport_failure(failure) from None
        if response.status_code != 200:
            try:
                body = await response.aread()
            except httpx.HTTPError:
                body = b""
            finally:
                await response.aclose()
            raise map_provider_status(response.status_code, response.headers, body)
        return UpstreamStream(response)

    async def aclose(self) -> None:
        await self._client.aclose()


# Failures before the request left this process: the provider cannot have run it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


def _transport_failure(failure: httpx.HTTPError) -> UpstreamError:
    may_have_run = not isinstance(failure, _NOT_SENT)
    if isinstance(failure, httpx.TimeoutException):
        return UpstreamError(
            504,
            "provider_timeout",
            "the provider did not answer in time",
            may_have_run=may_have_run,
        )
    return UpstreamError(
        502,
        "provider_unreachable",
        "the provider could not be reached",
        may_have_run=may_have_run,
    )

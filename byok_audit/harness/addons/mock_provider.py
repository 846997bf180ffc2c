"""Mock provider: answers api.anthropic.com and api.openai.com locally, like the real APIs would.

Keys are checked against the ones the audit issued (control.json), every successful reply carries the
response canary, the requested model is echoed, and queued faults are applied to generation calls.
Nothing is ever forwarded: the real provider is never contacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from mitmproxy import http

from byok_audit.harness import provider_replies as replies
from byok_audit.harness.addons.recorder import ANSWERED_BY, FAULT
from byok_audit.harness.control import ControlReader, ControlState, Fault
from byok_audit.models.canary import Provider

PROVIDER_HOSTS: dict[str, Provider] = {"api.anthropic.com": "anthropic", "api.openai.com": "openai"}
GENERATION = {("anthropic", "POST", "/v1/messages"), ("openai", "POST", "/v1/chat/completions")}
DEFAULT_HOLD = 60.0


def _bearer(flow: http.HTTPFlow) -> str | None:
    value = flow.request.headers.get("authorization", "")
    return value[7:].strip() if value.lower().startswith("bearer ") else None


def presented_key(flow: http.HTTPFlow, provider: Provider) -> str | None:
    if provider == "anthropic":
        return flow.request.headers.get("x-api-key") or _bearer(flow)
    return _bearer(flow)


class MockProvider:
    def __init__(self, control: ControlReader) -> None:
        self.control = control
        self._used: dict[int, int] = {}
        self._stopping = asyncio.Event()

    def done(self) -> None:
        self._stopping.set()

    async def request(self, flow: http.HTTPFlow) -> None:
        provider = PROVIDER_HOSTS.get(flow.request.pretty_host.lower())
        if provider is None or flow.response is not None:
            return
        flow.metadata[ANSWERED_BY] = "mock_provider"
        state = self.control.current()
        method, path = flow.request.method, flow.request.path.split("?")[0].rstrip("/")
        if not state.key_is_valid(presented_key(flow, provider), provider):
            reply = (
                replies.anthropic_error(401, "authentication_error", "invalid x-api-key")
                if provider == "anthropic"
                else replies.openai_error(
                    401, "invalid_request_error", "Incorrect API key provided.", "invalid_api_key"
                )
            )
            self._answer(flow, reply)
            return
        if (provider, method, path) in GENERATION:
            fault = self._take_fault(state, provider)
            if fault is not None:
                flow.metadata[FAULT] = fault.kind
                if fault.kind == "slow":
                    await self._wait(fault.delay)
                elif fault.kind == "timeout":
                    await self._wait(fault.delay or DEFAULT_HOLD)
                    flow.kill()
                    return
                else:
                    self._answer(flow, replies.fault_reply(provider, fault.kind, fault.delay))
                    return
        self._answer(flow, self._reply(flow, provider, method, path, state))

    def _reply(
        self, flow: http.HTTPFlow, provider: Provider, method: str, path: str, state: ControlState
    ) -> replies.Reply:
        if method == "GET" and path == "/v1/models":
            return (
                replies.anthropic_models() if provider == "anthropic" else replies.openai_models()
            )
        known = (provider, method, path) in GENERATION or (
            provider == "anthropic" and (method, path) == ("POST", "/v1/messages/count_tokens")
        )
        if not known:
            if provider == "anthropic":
                return replies.anthropic_error(404, "not_found_error", "Not found")
            return replies.openai_error(
                404, "invalid_request_error", f"Invalid URL ({method} {path})"
            )
        try:
            body: Any = json.loads(flow.request.get_content(strict=False) or b"")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if provider == "anthropic":
                return replies.anthropic_error(
                    400, "invalid_request_error", "The request body is not valid JSON."
                )
            return replies.openai_error(
                400, "invalid_request_error", "We could not parse the JSON body of your request."
            )
        tokens = replies.estimate_tokens(json.dumps(body.get("messages", "")))
        if path == "/v1/messages/count_tokens":
            return replies._json(200, {"input_tokens": tokens})
        model = str(body.get("model", ""))
        words = replies.reply_words(state.response_canary)
        stream = body.get("stream") is True
        if provider == "anthropic":
            build = replies.anthropic_stream if stream else replies.anthropic_message
        else:
            build = replies.openai_stream if stream else replies.openai_completion
        return build(model, words, tokens)

    def _take_fault(self, state: ControlState, provider: Provider) -> Fault | None:
        for fault in state.faults:
            if fault.provider not in (None, provider):
                continue
            if self._used.get(fault.id, 0) < fault.count:
                self._used[fault.id] = self._used.get(fault.id, 0) + 1
                return fault
        return None

    async def _wait(self, seconds: float) -> None:
        """Sleep, but wake at shutdown so a held request never delays stopping the proxy."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    @staticmethod
    def _answer(flow: http.HTTPFlow, reply: replies.Reply) -> None:
        flow.response = http.Response.make(reply.status, reply.body, reply.headers)

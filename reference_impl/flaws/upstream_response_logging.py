"""log-responses: the model's answers are logged with the token counts for "spend analytics"
(LiteLLM's ``store_prompts_in_spend_logs`` keeps responses in its spend logs).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from reference_impl.apikey import ApiKey
from reference_impl.flaws.base import Flaw, UpstreamWrapper, swap
from reference_impl.upstream import UpstreamReply, UpstreamStream, Usage

_log = logging.getLogger("byok.spend")


def log_answer(model: object, answer: str) -> None:
    _log.info(
        "spend", extra={"byok_meta": {"event": "spend_log", "model": model, "response": answer}}
    )


class LoggedStream(UpstreamStream):
    """Relays the provider's stream, then logs what it carried."""

    def __init__(self, inner: UpstreamStream, model: object) -> None:  # no response of its own
        self._inner = inner
        self._model = model
        self.status = inner.status

    @property
    def usage(self) -> Usage:
        return self._inner.usage

    async def chunks(self) -> AsyncIterator[bytes]:
        seen: list[bytes] = []
        async for chunk in self._inner.chunks():
            seen.append(chunk)
            yield chunk
        log_answer(self._model, b"".join(seen).decode(errors="replace"))


class ResponseLoggingUpstream(UpstreamWrapper):
    async def send(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamReply:
        reply = await self.inner.send(api_key, payload)
        log_answer(payload.get("model"), reply.body.decode(errors="replace"))
        return reply

    async def open_stream(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamStream:
        return LoggedStream(await self.inner.open_stream(api_key, payload), payload.get("model"))


FLAW = Flaw(
    name="log-responses",
    component="upstream",
    summary="logs the model's answer of every call (spend logs with bodies)",
    apply=lambda c, ctx: swap(c, upstream=ResponseLoggingUpstream(c.upstream)),
)

"""log-prompts: every model call is logged with its messages, an "interaction log" left on in
production (Onyx ``LOG_ONYX_MODEL_INTERACTIONS``, LiteLLM verbose mode).
"""

from __future__ import annotations

import logging
from typing import Any

from reference_impl.apikey import ApiKey
from reference_impl.flaws.base import Flaw, UpstreamWrapper, swap
from reference_impl.upstream import UpstreamReply, UpstreamStream

_log = logging.getLogger("byok.llm")


class InteractionLoggingUpstream(UpstreamWrapper):
    def _log(self, payload: dict[str, Any]) -> None:
        _log.info(
            "model interaction",
            extra={
                "byok_meta": {
                    "event": "model_interaction",
                    "model": payload.get("model"),
                    "system": payload.get("system"),
                    "messages": payload.get("messages"),
                }
            },
        )

    async def send(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamReply:
        self._log(payload)
        return await self.inner.send(api_key, payload)

    async def open_stream(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamStream:
        self._log(payload)
        return await self.inner.open_stream(api_key, payload)


FLAW = Flaw(
    name="log-prompts",
    component="upstream",
    summary="logs the messages of every model call (an interaction log left on)",
    apply=lambda c, ctx: swap(c, upstream=InteractionLoggingUpstream(c.upstream)),
)

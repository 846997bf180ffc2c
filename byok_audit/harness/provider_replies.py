"""What Anthropic's and OpenAI's APIs answer, byte for byte in shape, built from plain data.

Kept free of mitmproxy so the shapes can be read and tested on their own. The official SDKs parse these
(their streaming parsers included), which is the proof the shapes are right: see tests/sdk/.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from byok_audit.models.canary import Provider

JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream; charset=utf-8"

ANTHROPIC_MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1")
OPENAI_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1")


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: Any, **headers: str) -> Reply:
    return Reply(status, json.dumps(payload).encode(), {"content-type": JSON_TYPE, **headers})


def _request_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def reply_words(canary: str) -> list[str]:
    """The reply text as stream deltas. The canary stays whole inside one delta, like a rare word would."""
    return ["This ", "is ", "the ", "mock ", "provider: ", canary, " (byok-audit ", "harness)."]


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


# -- Anthropic ------------------------------------------------------------------------------------


def anthropic_error(status: int, error_type: str, message: str, **headers: str) -> Reply:
    request_id = _request_id("req_")
    payload = {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": request_id,
    }
    return _json(status, payload, **{"request-id": request_id, **headers})


def anthropic_usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def anthropic_message(model: str, words: list[str], input_tokens: int) -> Reply:
    request_id = _request_id("req_")
    payload = {
        "id": _request_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "".join(words)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": anthropic_usage(input_tokens, len(words)),
    }
    return _json(200, payload, **{"request-id": request_id})


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def anthropic_stream(model: str, words: list[str], input_tokens: int) -> Reply:
    """The real event sequence: message_start … content_block_delta×N … message_stop."""
    message = {
        "id": _request_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": anthropic_usage(input_tokens, 1),
    }
    events = [
        _sse("message_start", {"type": "message_start", "message": message}),
        _sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        _sse("ping", {"type": "ping"}),
    ]
    events += [
        _sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}},
        )
        for w in words
    ]
    events += [
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": len(words)},
            },
        ),
        _sse("message_stop", {"type": "message_stop"}),
    ]
    return Reply(
        200,
        "".join(events).encode(),
        {"content-type": SSE_TYPE, "cache-control": "no-cache", "request-id": _request_id("req_")},
    )


def anthropic_models() -> Reply:
    data = [
        {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
        for m in ANTHROPIC_MODELS
    ]
    return _json(
        200, {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
    )


# -- OpenAI ---------------------------------------------------------------------------------------


def openai_error(
    status: int, error_type: str, message: str, code: str | None = None, **headers: str
) -> Reply:
    payload = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return _json(status, payload, **{"x-request-id": _request_id("req_"), **headers})


def openai_usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def openai_completion(model: str, words: list[str], prompt_tokens: int) -> Reply:
    payload = {
        "id": _request_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(words), "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": openai_usage(prompt_tokens, len(words)),
        "system_fingerprint": "fp_byok_audit",
    }
    return _json(200, payload, **{"x-request-id": _request_id("req_")})


def openai_stream(model: str, words: list[str], prompt_tokens: int) -> Reply:
    """``data: {chunk}`` lines, a finish chunk, a usage chunk (empty choices), then ``data: [DONE]``."""
    base = {
        "id": _request_id("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_byok_audit",
    }

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice], "usage": None}

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    chunks += [chunk({"content": w}, None) for w in words]
    chunks.append(chunk({}, "stop"))
    chunks.append({**base, "choices": [], "usage": openai_usage(prompt_tokens, len(words))})
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return Reply(
        200, body.encode(), {"content-type": SSE_TYPE, "x-request-id": _request_id("req_")}
    )


def openai_models() -> Reply:
    data = [
        {"id": m, "object": "model", "created": 1700000000, "owned_by": "system"}
        for m in OPENAI_MODELS
    ]
    return _json(200, {"object": "list", "data": data})


# -- faults ---------------------------------------------------------------------------------------

MALFORMED_BODY = b'{"id": "msg_01broken", "type": "message", "content": [{"type": "te'


def fault_reply(provider: Provider, kind: str, retry_after: float) -> Reply:
    """The provider's own error for an injected fault kind (slow/timeout are handled by timing)."""
    if kind == "malformed":
        return Reply(200, MALFORMED_BODY, {"content-type": JSON_TYPE})
    retry = str(max(1, round(retry_after)))
    if provider == "anthropic":
        return {
            "unauthorized": lambda: anthropic_error(
                401, "authentication_error", "invalid x-api-key"
            ),
            "rate_limited": lambda: anthropic_error(
                429,
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
                **{"retry-after": retry},
            ),
            "server_error": lambda: anthropic_error(500, "api_error", "Internal server error"),
            "overloaded": lambda: anthropic_error(529, "overloaded_error", "Overloaded"),
        }[kind]()
    return {
        "unauthorized": lambda: openai_error(
            401, "invalid_request_error", "Incorrect API key provided.", "invalid_api_key"
        ),
        "rate_limited": lambda: openai_error(
            429,
            "requests",
            "Rate limit reached for requests",
            "rate_limit_exceeded",
            **{"retry-after": retry},
        ),
        "server_error": lambda: openai_error(
            500, "server_error", "The server had an error while processing your request."
        ),
        "overloaded": lambda: openai_error(
            503, "server_error", "The engine is currently overloaded, please try again later."
        ),
    }[kind]()

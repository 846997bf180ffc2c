"""Tiny factories for hand-made evidence bundles (the check tests' fixtures).

Each builder returns a valid model with sensible defaults; tests override only what they are about.
"""

from __future__ import annotations

import itertools
from typing import Any

from byok_audit.models.canary import Canary, CanaryTable
from byok_audit.models.evidence import (
    CapturedFile,
    DbFile,
    DbSnapshot,
    DbTable,
    EvidenceBundle,
    Exchange,
    HarnessInfo,
    HttpCall,
    StepRecord,
    TargetFacts,
)

_ids = itertools.count(1)


def target(**overrides: Any) -> TargetFacts:
    base: dict[str, Any] = {
        "name": "test-target",
        "profile_path": "profile.toml",
        "provider_hosts": ["api.anthropic.com"],
        "allowed_endpoints": [
            "POST /v1/messages",
            "POST /v1/messages/count_tokens",
            "GET /v1/models",
        ],
        "display_suffix_len": 4,
        "db_engine": "sqlite",
        "models": ["claude-sonnet-4-5"],
    }
    return TargetFacts(**{**base, **overrides})


def bundle(canaries: CanaryTable | None = None, **overrides: Any) -> EvidenceBundle:
    base: dict[str, Any] = {
        "tool_version": "test",
        "criteria_version": "1",
        "run_id": "test-run",
        "started": 1000.0,
        "ended": 2000.0,
        "target": target(),
        "canaries": canaries if canaries is not None else CanaryTable.fresh(),
        "harness": HarnessInfo(engine="test"),
    }
    return EvidenceBundle(**{**base, **overrides})


def exchange(**overrides: Any) -> Exchange:
    """A TLS POST to the Anthropic messages endpoint, answered by the mock provider."""
    base: dict[str, Any] = {
        "id": next(_ids),
        "kind": "http",
        "started": 1100.0,
        "ended": 1100.1,
        "scheme": "https",
        "host": "api.anthropic.com",
        "sni": "api.anthropic.com",
        "host_header": "api.anthropic.com",
        "port": 443,
        "tls": True,
        "method": "POST",
        "path": "/v1/messages",
        "response_status": 200,
        "answered_by": "mock_provider",
    }
    return Exchange(**{**base, **overrides})


def call(
    method: str = "POST", url: str = "http://127.0.0.1:8000/api/v1/messages", **overrides: Any
) -> HttpCall:
    return HttpCall(method=method, url=url, **{"status": 200, **overrides})


def step(action: str, index: int = 0, **overrides: Any) -> StepRecord:
    base: dict[str, Any] = {
        "index": index,
        "scenario": "test",
        "action": action,
        "started": 1000.0 + index,
        "ended": 1000.5 + index,
    }
    return StepRecord(**{**base, **overrides})


def captured(content: bytes | str, name: str = "app.log", kind: str = "log") -> CapturedFile:
    data = content.encode() if isinstance(content, str) else content
    return CapturedFile(name=name, kind=kind, path=f"/work/{name}", content=data)


def snapshot(label: str, step_index: int = 0, **overrides: Any) -> DbSnapshot:
    base: dict[str, Any] = {
        "label": label,
        "step_index": step_index,
        "taken": 1000.0 + step_index,
        "engine": "sqlite",
    }
    return DbSnapshot(**{**base, **overrides})


def to_host(host: str, **overrides: Any) -> Exchange:
    """An HTTPS request addressed (CONNECT host, SNI and Host header) to a non-provider host."""
    base: dict[str, Any] = {"host": host, "sni": host, "host_header": host, "answered_by": "sink"}
    return exchange(**{**base, "path": "/collect", **overrides})


def keyed(key: Canary, **overrides: Any) -> Exchange:
    """A provider request carrying ``key`` in the x-api-key header."""
    return exchange(**{"request_headers": [("x-api-key", key.value)], **overrides})


def key_view(key: Canary, fingerprint: str = "3f2a9c1d") -> HttpCall:
    """A GET of the stored key as targets answer it: a fingerprint and the display suffix."""
    body = f'{{"fingerprint": "{fingerprint}", "last4": "{key.value[-4:]}"}}'
    return call("GET", "http://127.0.0.1:8000/api/v1/claude-key", response_body=body.encode())


def bad_input_run(
    canaries: CanaryTable,
    key: Canary,
    kind: str,
    submitted: Canary | None = None,
    *,
    answer: HttpCall | None = None,
    shown_after: Canary | None = None,
    prompt_after: Exchange | None = None,
) -> EvidenceBundle:
    """alice stores ``key``, GETs it, submits bad input of ``kind``, GETs again and prompts.

    By default the target refuses with 400, the later GET still shows ``key`` and the prompt uses it.
    """
    answer = answer or call("PUT", "http://127.0.0.1:8000/api/v1/claude-key", status=400)
    upstream = prompt_after or exchange(request_headers=[("x-api-key", key.value)])
    data = {"canary": submitted.id} if submitted else {}
    steps = [
        step("put_key", 0, user="alice", params={"key": key.id}),
        step("get_key", 1, user="alice", calls=[key_view(key)]),
        step("bad_input", 2, user="alice", params={"kind": kind}, calls=[answer], data=data),
        step("get_key", 3, user="alice", calls=[key_view(shown_after or key)]),
        step("prompt", 4, user="alice", exchange_ids=[upstream.id], started=1004.0),
    ]
    return bundle(
        canaries=canaries, steps=steps, exchanges=[upstream.model_copy(update={"started": 1004.1})]
    )


__all__ = [
    "DbFile",
    "DbTable",
    "bad_input_run",
    "bundle",
    "call",
    "captured",
    "exchange",
    "key_view",
    "keyed",
    "snapshot",
    "step",
    "target",
    "to_host",
]

"""Small evidence queries shared by many checks. Pure: they only read the bundle."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable
from typing import Any

import zstandard

from byok_audit.checks.base import EvidenceMissing
from byok_audit.models.canary import Canary, CanaryRole
from byok_audit.models.evidence import EvidenceBundle, Exchange, StepRecord
from byok_audit.models.finding import EvidenceRef


def is_provider(exchange: Exchange, bundle: EvidenceBundle) -> bool:
    """True when every name the exchange was addressed to is a declared provider host."""
    allowed = {h.lower() for h in bundle.target.provider_hosts}
    return bool(exchange.hosts) and exchange.hosts <= allowed


def request_text(exchange: Exchange) -> bytes:
    """What the target sent, flattened: request line, headers and body (wire bytes)."""
    head = f"{exchange.method} {exchange.path}?{exchange.query}\n".encode()
    headers = "".join(f"{k}: {v}\n" for k, v in exchange.request_headers).encode()
    return head + headers + exchange.request_body


def keys_sent(exchange: Exchange, bundle: EvidenceBundle) -> list[Canary]:
    """Key canaries whose raw value the target sent in this exchange (headers, query or body)."""
    sent = request_text(exchange)
    return [
        c
        for c in bundle.canaries.of_role(CanaryRole.KEY, CanaryRole.OAUTH_TOKEN)
        if c.value.encode() in sent
    ]


def upstream_calls(bundle: EvidenceBundle, step: StepRecord) -> list[Exchange]:
    """HTTP exchanges to provider hosts during a step."""
    return [e for e in bundle.exchanges_of(step) if e.kind == "http" and is_provider(e, bundle)]


def require_steps(bundle: EvidenceBundle, action: str) -> list[StepRecord]:
    """The recorded steps of one action that ran; EvidenceMissing when none did."""
    steps = [s for s in bundle.steps_of(action) if s.outcome != "error"]
    if not steps:
        failed = bundle.steps_of(action)
        why = f"; {failed[0].note}" if failed and failed[0].note else ""
        raise EvidenceMissing(f"no completed '{action}' step in the bundle{why}")
    return steps


def steps_after(bundle: EvidenceBundle, step: StepRecord) -> list[StepRecord]:
    return [s for s in bundle.steps if s.index > step.index]


def exchange_ref(exchange: Exchange, detail: str = "") -> EvidenceRef:
    where = f"{exchange.method} {exchange.scheme}://{exchange.host}{exchange.path}".strip()
    return EvidenceRef(kind="exchange", ref=f"exchange {exchange.id}: {where}", detail=detail)


def step_ref(step: StepRecord, detail: str = "") -> EvidenceRef:
    who = f" as {step.user}" if step.user else ""
    return EvidenceRef(
        kind="step", ref=f"step {step.index} ({step.scenario}: {step.action}{who})", detail=detail
    )


# -- upstream request bodies and target API statuses (RTE/USE/API checks) ----------------------------

_GENERATION_PATH = re.compile(
    r"(/v1/messages|/chat/completions|/v1/completions|/v1/responses|:generateContent"
    r"|:streamGenerateContent)/?$"
)
_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "x-gzip": gzip.decompress,
    "deflate": zlib.decompress,
    "zstd": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
}


def is_generation(exchange: Exchange) -> bool:
    """A model call (messages, chat completions, responses), as opposed to count_tokens or models."""
    return exchange.method.upper() == "POST" and bool(_GENERATION_PATH.search(exchange.path))


def decoded_request_body(exchange: Exchange) -> bytes:
    """The request body with its Content-Encoding undone; the wire bytes when it cannot be."""
    body = exchange.request_body
    encoding = (exchange.request_header("content-encoding") or "").strip().lower()
    for step in reversed([e.strip() for e in encoding.split(",") if e.strip()]):
        decoder = _DECODERS.get(step)
        if decoder is None and step != "identity":
            return exchange.request_body
        try:
            body = decoder(body) if decoder else body
        except (OSError, zlib.error, zstandard.ZstdError):
            return exchange.request_body
    return body


def request_json(exchange: Exchange) -> dict[str, Any] | None:
    """The request body as a JSON object, or None when it is not one."""
    try:
        value = json.loads(decoded_request_body(exchange))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


_SNAPSHOT_DATE = re.compile(r"-\d{8}")


def same_model(chosen: str, sent: str) -> bool:
    """Equal, or the alias resolved to its dated snapshot (``claude-x`` → ``claude-x-20250929``)."""
    return sent == chosen or (
        sent.startswith(chosen) and bool(_SNAPSHOT_DATE.fullmatch(sent[len(chosen) :]))
    )


def final_status(step: StepRecord) -> int | None:
    """The HTTP status of the last call of a step that got an answer (None: no answer at all)."""
    answered = [c.status for c in step.calls if c.status is not None]
    return answered[-1] if answered else None

"""Small evidence queries shared by many checks. Pure: they only read the bundle."""

from __future__ import annotations

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

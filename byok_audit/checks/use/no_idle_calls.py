"""USE-01: nothing goes upstream with the key while the user is idle."""

from __future__ import annotations

from byok_audit.checks.base import Verdict, check
from byok_audit.checks.common import (
    KEY_ROLES,
    capped,
    exchange_ref,
    hit_detail,
    hosts_of,
    performed_steps,
    plural,
    scanner,
)
from byok_audit.models.evidence import EvidenceBundle, Exchange, StepRecord
from byok_audit.models.finding import EvidenceRef, Severity, Threat


def _during(exchange: Exchange, step: StepRecord) -> bool:
    return exchange.id in step.exchange_ids or step.started <= exchange.started <= step.ended


@check(
    id="USE-01",
    title="No unsolicited calls: nothing upstream with the key while idle",
    severity=Severity.HIGH,
    threats=[Threat.T2],
    questions=[],
    remediation=(
        "Use a user's key only to serve that user's request; no background jobs, warm-ups, "
        "validations on a timer or usage probes with it."
    ),
)
def no_idle_calls(bundle: EvidenceBundle) -> Verdict:
    """A platform that calls the provider with a user's key when the user asked for nothing spends their
    money (or mines their quota) behind their back. During every ``idle`` step (the driver sends
    nothing for a while), any exchange that carries a key or OAuth-token canary (any encoding, to any
    host), attributed to the step or started inside its window, is a FAIL. A key-bearing exchange
    that no step accounts for at all (it started between steps) is a WARN. Needs at least one idle
    step (else ERROR).
    """
    idles = performed_steps(bundle, "idle")
    scan = scanner(bundle, KEY_ROLES, fragments=False, digests=False)
    idle_calls: list[EvidenceRef] = []
    strays: list[EvidenceRef] = []
    quiet = 0
    for exchange in bundle.exchanges:
        hits = scan.scan_request(exchange)
        idle = next((s for s in idles if _during(exchange, s)), None)
        if not hits:
            quiet += idle is not None
            continue
        detail = hit_detail(bundle, hits[0])
        if idle is not None:
            idle_calls.append(exchange_ref(exchange, f"during idle step {idle.index}: {detail}"))
        elif not any(_during(exchange, s) for s in bundle.steps):
            strays.append(exchange_ref(exchange, f"outside every step: {detail}"))
    window = sum(s.ended - s.started for s in idles)
    seen = f"{plural(len(idles), 'idle window')} ({window:.1f} s)"
    if idle_calls:
        return Verdict.failed(
            f"{plural(len(idle_calls), 'exchange')} used a key during {seen}",
            capped(idle_calls + strays),
        )
    if strays:
        return Verdict.warn(
            f"no key used during {seen}, but {plural(len(strays), 'key-bearing exchange')} happened outside "
            "any step",
            capped(strays),
        )
    others = f"; {plural(quiet, 'exchange')} without a key during them" if quiet else ""
    hosts = hosts_of(e for e in bundle.exchanges if any(_during(e, s) for s in idles))
    to = f" (to {', '.join(hosts)})" if hosts else ""
    return Verdict.passed(f"no exchange carried a key during {seen}{others}{to}")

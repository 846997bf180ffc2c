"""RTE-05: no egress that bypasses the proxy."""

from __future__ import annotations

from byok_audit.checks.base import Verdict, check
from byok_audit.checks.common import exchange_ref, names, performed_steps
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import Question, Severity, Threat


@check(
    id="RTE-05",
    title="No egress bypassing the proxy (sealed egress)",
    severity=Severity.HIGH,
    threats=[Threat.T2],
    questions=[Question.Q2],
    remediation=(
        "Honour HTTPS_PROXY for every outbound connection (HTTP clients, SDKs, telemetry agents) and "
        "do not open raw sockets or use hard-coded IPs or DNS-over-HTTPS to reach the outside."
    ),
    optional=True,
)
def sealed_egress(bundle: EvidenceBundle) -> Verdict:
    """Every other routing check sees only what went through the proxy; code that opens its own sockets
    could send the key anywhere unseen. With sealed egress the target runs in a network namespace whose
    only way out is the proxy, and every connection attempt that tried another route is recorded as an
    exchange of kind ``blocked``. Any such record is a FAIL. Without sealed egress the property cannot be
    measured, so the check is NOT_APPLICABLE (it is optional: only an A+ needs it).
    """
    if not bundle.harness.sealed_egress:
        return Verdict.not_applicable(
            "needs sealed egress (the target in a network namespace whose only route is the proxy); "
            "this run used a cooperative HTTPS_PROXY setup"
        )
    performed_steps(bundle, "prompt")
    blocked = [e for e in bundle.exchanges if e.kind == "blocked"]
    if blocked:
        targets = sorted({f"{e.host or '?'}:{e.port}" for e in blocked})
        return Verdict.failed(
            f"{len(blocked)} connection attempts bypassed the proxy (to {', '.join(targets)})",
            [exchange_ref(e, e.error or "blocked: not via the proxy") for e in blocked],
        )
    hosts = sorted({h for e in bundle.exchanges for h in names(e)})
    return Verdict.passed(
        f"sealed egress: all {len(bundle.exchanges)} outbound exchanges went through the proxy, "
        f"none blocked (hosts: {', '.join(hosts) or 'none'})"
    )

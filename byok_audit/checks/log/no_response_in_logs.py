"""LOG-02: no response text in logs."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import capped, performed_steps, plural, reply_bytes, scanner
from byok_audit.checks.log.sinks import scan_sinks
from byok_audit.models.canary import CanaryRole
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import Question, Severity, Threat


@check(
    id="LOG-02",
    title="No response text in logs",
    severity=Severity.CRITICAL,
    threats=[Threat.T3],
    questions=[Question.Q3],
    remediation=(
        "Never log the provider's response body or the streamed text; log token counts and status."
    ),
)
def no_response_in_logs(bundle: EvidenceBundle) -> Verdict:
    """The model's answer is as private as the prompt. The mock provider plants the response canary in
    every answer; every captured log source and every request to a non-provider host is scanned for it
    in every encoding (streamed answers arrive split across SSE events, so logs that record chunks are
    caught by the reassembling scan). A hit is a FAIL. The canary must be seen in at least one provider
    answer or reply to the driver (else nothing was tested: ERROR), and every log source the profile
    declared must have been found (a missing one is an ERROR naming it).
    """
    prompts = performed_steps(bundle, "prompt")
    scan = scanner(bundle, (CanaryRole.RESPONSE,), fragments=False, digests=False)
    answered = any(scan.scan_exchange(e) for e in bundle.exchanges if e.kind == "http") or any(
        scan.scan_bytes(reply_bytes(c), f"step {s.index} reply") for s in prompts for c in s.calls
    )
    if not answered:
        raise EvidenceMissing(
            "the response canary was never seen in an answer: no reply was relayed"
        )
    sinks = scan_sinks(bundle, scan)
    if sinks.leaks:
        return Verdict.failed(
            f"response text found {plural(len(sinks.leaks), 'time')} ({sinks.examined()})",
            capped(sinks.leaks),
        )
    return Verdict.passed(f"{sinks.examined()}: no response text")

"""Hand-made check outcomes for the scoring tests."""

from __future__ import annotations

from byok_audit.models.finding import Question, Severity, Status, Threat
from byok_audit.models.result import CheckOutcome


def outcome(
    check_id: str,
    status: Status,
    severity: Severity = Severity.HIGH,
    *,
    optional: bool = False,
    raw: Status | None = None,
    threats: tuple[Threat, ...] = (Threat.T1,),
    questions: tuple[Question, ...] = (Question.Q1,),
    fingerprint: str = "f" * 16,
) -> CheckOutcome:
    return CheckOutcome(
        check_id=check_id,
        title=f"title of {check_id}",
        severity=severity,
        threats=list(threats),
        questions=list(questions),
        optional=optional,
        status=status,
        raw_status=raw or status,
        summary=f"summary of {check_id}",
        evidence_fingerprint=fingerprint,
    )

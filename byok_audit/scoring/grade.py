"""Score and letter grade, SSL Labs style: start at A, every failing check caps it, and every cap is named.

Rules (criteria version 1):

- Score 0-100: ``Σ weight·score / Σ weight`` over measured checks, weights by severity (critical 10,
  high 7.5, medium 5, low 2.5). PASS and WARN score full, FAIL scores 0. NOT_APPLICABLE and ERROR are
  left out (an ERROR makes the grade ``I`` instead, so a shrunken denominator never passes silently).
  In the raw view a waived check counts as what it measured (a waived FAIL scores 0); in the effective
  view it is left out: an accepted risk is neither a pass nor a failure.
- Caps: critical FAIL → F, high FAIL → C, medium FAIL → B, low FAIL or any WARN → A-. The lowest wins.
  Optional checks cap like any other: optional means "may not run", not "may fail".
- A+ only when every check, optional ones included, is PASS (none waived, in error or not applicable).
- ``I`` (incomplete) when a mandatory check is in ERROR, or when no check measured anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from byok_audit.models.finding import Severity, Status
from byok_audit.models.result import Cap, CheckOutcome, Grade, Grading

FAIL_CAPS: dict[Severity, Grade] = {
    Severity.CRITICAL: Grade.F,
    Severity.HIGH: Grade.C,
    Severity.MEDIUM: Grade.B,
    Severity.LOW: Grade.A_MINUS,
}
WARN_CAP = Grade.A_MINUS

StatusOf = Callable[[CheckOutcome], Status]


def raw_status(check: CheckOutcome) -> Status:
    return check.raw_status


def effective_status(check: CheckOutcome) -> Status:
    return check.status


def score(checks: Sequence[CheckOutcome], status_of: StatusOf) -> float | None:
    earned = total = 0.0
    for check in checks:
        status = status_of(check)
        if status in (Status.PASS, Status.WARN):
            earned += check.severity.weight
            total += check.severity.weight
        elif status is Status.FAIL:
            total += check.severity.weight
    return round(100 * earned / total, 1) if total else None


def caps(checks: Sequence[CheckOutcome], status_of: StatusOf) -> list[Cap]:
    found: list[Cap] = []
    for check in checks:
        status = status_of(check)
        if status is Status.FAIL:
            cap = FAIL_CAPS[check.severity]
            why = f"{check.severity} check failed"
        elif status is Status.WARN:
            cap = WARN_CAP
            why = "warning"
        else:
            continue
        found.append(
            Cap(
                grade=cap,
                check_id=check.check_id,
                severity=check.severity,
                status=status,
                reason=f"{check.check_id} ({check.title}): {why}, grade capped at {cap}",
            )
        )
    return sorted(found, key=lambda c: (c.grade.rank, -c.severity.rank, c.check_id))


def grading(checks: Sequence[CheckOutcome], status_of: StatusOf) -> Grading:
    """Grade one view of the checks (``raw_status`` or ``effective_status``)."""
    found = caps(checks, status_of)
    incomplete = [c.check_id for c in checks if status_of(c) is Status.ERROR and not c.optional]
    value = score(checks, status_of)
    if incomplete:
        grade = Grade.INCOMPLETE
        reason = f"Incomplete: mandatory check(s) could not run: {', '.join(incomplete)}"
    elif value is None and not any(status_of(c) is Status.WAIVED for c in checks):
        grade = Grade.INCOMPLETE
        reason = "Incomplete: no check measured anything"
    elif found:
        grade = found[0].grade
        reason = found[0].reason
    elif checks and all(status_of(c) is Status.PASS for c in checks):
        grade = Grade.A_PLUS
        reason = "Every check passed, the optional ones included"
    else:
        grade = Grade.A
        held_back = sorted(c.check_id for c in checks if status_of(c) is not Status.PASS)
        reason = f"No failures or warnings; A+ needs every check to pass ({', '.join(held_back)} did not)"
    return Grading(grade=grade, score=value, caps=found, incomplete=incomplete, reason=reason)

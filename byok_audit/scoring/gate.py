"""The CI gate and the exit codes every command shares.

=====  =====================================================================================
code   meaning
=====  =====================================================================================
0      gate passed
1      gate failed on findings: a FAIL at or above ``--fail-on`` (after waivers), or the
       effective grade is below ``--min-grade``; also ``verify`` on any failed verification
2      incomplete: a mandatory check is in ERROR (or nothing was measured); grade ``I``
3      usage or configuration error (bad option, unreadable bundle, invalid waivers file)
4      harness error: the audit machinery could not observe the target
=====  =====================================================================================

Findings (1) win over incomplete (2): a definite failure is reported even when other checks could
not run. WARN never fails the gate by itself (only through ``--min-grade A`` or higher).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from byok_audit.models.finding import Status
from byok_audit.models.result import CheckOutcome, GateOutcome, GatePolicy, Grade, Grading


class ExitCode(IntEnum):
    PASSED = 0
    FINDINGS = 1
    INCOMPLETE = 2
    USAGE = 3
    HARNESS = 4


def judge(checks: Sequence[CheckOutcome], effective: Grading, policy: GatePolicy) -> GateOutcome:
    """Apply the gate to the effective (waived) view."""
    reasons: list[str] = []
    findings = False
    if policy.fail_on is not None:
        failing = [
            c.check_id
            for c in checks
            if c.status is Status.FAIL and c.severity.rank >= policy.fail_on.rank
        ]
        if failing:
            findings = True
            reasons.append(f"FAIL at or above {policy.fail_on}: {', '.join(failing)}")
    graded = effective.grade is not Grade.INCOMPLETE
    if policy.min_grade is not None and graded and effective.grade.rank < policy.min_grade.rank:
        findings = True
        reasons.append(f"grade {effective.grade} is below the minimum {policy.min_grade}")
    incomplete = not graded
    if incomplete:
        reasons.append(effective.reason)
    if findings:
        code = ExitCode.FINDINGS
    elif incomplete:
        code = ExitCode.INCOMPLETE
    else:
        code = ExitCode.PASSED
    return GateOutcome(
        policy=policy, passed=code is ExitCode.PASSED, exit_code=int(code), reasons=reasons
    )

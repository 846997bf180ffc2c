from byok_audit.models.finding import Severity, Status
from byok_audit.models.result import GatePolicy, Grade
from byok_audit.scoring.gate import ExitCode, judge
from byok_audit.scoring.grade import effective_status, grading
from tests.scoring.outcomes import outcome


def gate(checks, **policy):
    return judge(checks, grading(checks, effective_status), GatePolicy(**policy))


def test_default_gate_fails_on_any_fail_even_low():
    result = gate([outcome("A-01", Status.PASS), outcome("B-01", Status.FAIL, Severity.LOW)])
    assert (result.passed, result.exit_code) == (False, ExitCode.FINDINGS)
    assert result.reasons == ["FAIL at or above low: B-01"]


def test_clean_run_passes():
    result = gate([outcome("A-01", Status.PASS), outcome("B-01", Status.WARN)])
    assert (result.passed, result.exit_code, result.reasons) == (True, ExitCode.PASSED, [])


def test_fail_on_threshold_ignores_lower_severities():
    checks = [
        outcome("A-01", Status.FAIL, Severity.MEDIUM),
        outcome("B-01", Status.FAIL, Severity.HIGH),
    ]
    assert gate(checks, fail_on=Severity.CRITICAL).passed
    high = gate(checks, fail_on=Severity.HIGH)
    assert high.exit_code == ExitCode.FINDINGS
    assert high.reasons == ["FAIL at or above high: B-01"]


def test_waived_fail_does_not_fail_the_gate():
    checks = [outcome("A-01", Status.WAIVED, Severity.CRITICAL, raw=Status.FAIL)]
    assert gate(checks).exit_code == ExitCode.PASSED


def test_min_grade():
    checks = [outcome("A-01", Status.PASS), outcome("B-01", Status.WARN)]  # A-
    assert gate(checks, fail_on=None, min_grade=Grade.A_MINUS).passed
    below = gate(checks, fail_on=None, min_grade=Grade.A)
    assert below.exit_code == ExitCode.FINDINGS
    assert below.reasons == ["grade A- is below the minimum A"]


def test_min_grade_alone_does_not_fail_on_findings_above_it():
    checks = [outcome("A-01", Status.PASS), outcome("B-01", Status.FAIL, Severity.MEDIUM)]  # B
    assert gate(checks, fail_on=None, min_grade=Grade.B).passed


def test_mandatory_error_is_incomplete_whatever_the_policy():
    checks = [outcome("A-01", Status.PASS), outcome("B-01", Status.ERROR)]
    for policy in ({}, {"fail_on": None}, {"fail_on": None, "min_grade": Grade.F}):
        result = gate(checks, **policy)
        assert result.exit_code == ExitCode.INCOMPLETE, policy
        assert "B-01" in result.reasons[-1]


def test_optional_error_is_not_incomplete():
    checks = [outcome("A-01", Status.PASS), outcome("B-01", Status.ERROR, optional=True)]
    assert gate(checks).exit_code == ExitCode.PASSED


def test_findings_win_over_incomplete():
    checks = [outcome("A-01", Status.FAIL, Severity.HIGH), outcome("B-01", Status.ERROR)]
    result = gate(checks)
    assert result.exit_code == ExitCode.FINDINGS
    assert len(result.reasons) == 2


def test_exit_codes_are_the_documented_table():
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4]

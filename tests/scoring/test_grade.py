from byok_audit.models.finding import Severity, Status
from byok_audit.models.result import Grade
from byok_audit.scoring.grade import effective_status, grading, raw_status, score
from tests.scoring.outcomes import outcome

P, F, W, N, E, X = (
    Status.PASS,
    Status.FAIL,
    Status.WARN,
    Status.NOT_APPLICABLE,
    Status.ERROR,
    Status.WAIVED,
)
CRIT, HIGH, MED, LOW = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW


def test_all_pass_including_optional_is_a_plus():
    checks = [outcome("A-01", P, CRIT), outcome("A-02", P, LOW, optional=True)]
    result = grading(checks, raw_status)
    assert result.grade is Grade.A_PLUS
    assert result.score == 100.0
    assert result.caps == []


def test_optional_check_not_passing_holds_back_a_plus_only():
    for status in (E, N):
        checks = [outcome("A-01", P), outcome("A-02", status, optional=True)]
        result = grading(checks, raw_status)
        assert result.grade is Grade.A, status
        assert "A-02" in result.reason


def test_not_applicable_mandatory_check_holds_back_a_plus():
    result = grading([outcome("A-01", P), outcome("A-02", N)], raw_status)
    assert result.grade is Grade.A


def test_each_severity_caps_the_grade():
    expected = {CRIT: Grade.F, HIGH: Grade.C, MED: Grade.B, LOW: Grade.A_MINUS}
    for severity, grade in expected.items():
        result = grading([outcome("A-01", P), outcome("B-01", F, severity)], raw_status)
        assert result.grade is grade, severity
        assert [c.check_id for c in result.caps] == ["B-01"]
        assert f"capped at {grade}" in result.caps[0].reason
        assert "B-01" in result.reason


def test_warning_caps_at_a_minus():
    result = grading([outcome("A-01", P), outcome("B-01", W, CRIT)], raw_status)
    assert result.grade is Grade.A_MINUS
    assert result.caps[0].status is W


def test_lowest_cap_wins_and_every_cap_is_listed_worst_first():
    checks = [
        outcome("A-01", W, LOW),
        outcome("B-01", F, MED),
        outcome("C-01", F, CRIT),
        outcome("D-01", F, HIGH),
    ]
    result = grading(checks, raw_status)
    assert result.grade is Grade.F
    assert [(c.check_id, c.grade) for c in result.caps] == [
        ("C-01", Grade.F),
        ("D-01", Grade.C),
        ("B-01", Grade.B),
        ("A-01", Grade.A_MINUS),
    ]


def test_optional_check_that_fails_still_caps():
    result = grading([outcome("A-01", P), outcome("B-01", F, CRIT, optional=True)], raw_status)
    assert result.grade is Grade.F


def test_mandatory_error_is_incomplete_never_a_letter():
    checks = [outcome("A-01", P), outcome("B-01", E), outcome("C-01", F, CRIT)]
    result = grading(checks, raw_status)
    assert result.grade is Grade.INCOMPLETE
    assert result.incomplete == ["B-01"]
    assert result.score == round(100 * 7.5 / 17.5, 1)  # ERROR left out, the rest still scored
    assert [c.check_id for c in result.caps] == ["C-01"]  # caps still listed


def test_nothing_measured_is_incomplete():
    result = grading([outcome("A-01", N), outcome("B-01", E, optional=True)], raw_status)
    assert result.grade is Grade.INCOMPLETE
    assert result.score is None


def test_score_weights_by_severity():
    checks = [
        outcome("A-01", P, CRIT),  # 10
        outcome("B-01", F, HIGH),  # 0 of 7.5
        outcome("C-01", W, MED),  # 5 (warnings score full)
        outcome("D-01", F, LOW),  # 0 of 2.5
        outcome("E-01", N, CRIT),  # left out
    ]
    assert score(checks, raw_status) == round(100 * 15 / 25, 1)


def test_waived_fail_counts_as_fail_raw_and_is_left_out_effective():
    checks = [outcome("A-01", P, CRIT), outcome("B-01", X, HIGH, raw=F)]
    raw = grading(checks, raw_status)
    effective = grading(checks, effective_status)
    assert (raw.grade, raw.score) == (Grade.C, round(100 * 10 / 17.5, 1))
    assert (effective.grade, effective.score) == (Grade.A, 100.0)
    assert effective.caps == []


def test_waived_check_never_earns_a_plus():
    checks = [outcome("A-01", P), outcome("B-01", X, LOW, raw=W)]
    assert grading(checks, effective_status).grade is Grade.A


def test_grade_rank_orders_letters_and_puts_incomplete_last():
    ordered = [Grade.A_PLUS, Grade.A, Grade.A_MINUS, Grade.B, Grade.C, Grade.F, Grade.INCOMPLETE]
    assert sorted(ordered, key=lambda g: -g.rank) == ordered

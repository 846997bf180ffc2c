from byok_audit.formats.words import STATUS_ORDER, score_text, urgent_first
from byok_audit.models.finding import Severity, Status
from tests.scoring.outcomes import outcome


def test_urgent_first_orders_by_status_then_severity_then_id():
    checks = [
        outcome("A-01", Status.PASS, Severity.CRITICAL),
        outcome("B-01", Status.FAIL, Severity.LOW),
        outcome("C-01", Status.FAIL, Severity.CRITICAL),
        outcome("D-01", Status.ERROR),
        outcome("E-01", Status.NOT_APPLICABLE),
        outcome("F-01", Status.WAIVED, raw=Status.FAIL),
        outcome("G-01", Status.WARN),
    ]
    assert [c.check_id for c in urgent_first(checks)] == [
        "C-01",
        "B-01",
        "D-01",
        "G-01",
        "F-01",
        "A-01",
        "E-01",
    ]
    assert set(STATUS_ORDER) == set(Status)


def test_score_text():
    assert (score_text(None), score_text(85.0), score_text(93.8)) == ("n/a", "85", "93.8")

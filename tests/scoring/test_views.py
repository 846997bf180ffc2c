from byok_audit.models.finding import Question, Status, Threat
from byok_audit.models.result import Answer, CodeAttestation
from byok_audit.scoring.views import question_views, threat_views
from tests.scoring.outcomes import outcome

Q1, Q2, Q3, Q4, Q5 = Question


def answers(checks, attestation=None):
    return {v.question: v for v in question_views(checks, attestation)}


def test_questions_answered_from_measured_status():
    checks = [
        outcome("ENC-01", Status.PASS, questions=(Q1,)),
        outcome("ENC-02", Status.WAIVED, raw=Status.FAIL, questions=(Q1,)),
        outcome("RTE-01", Status.PASS, questions=(Q2,)),
        outcome("RTE-02", Status.WARN, questions=(Q2,)),
        outcome("LOG-01", Status.ERROR, questions=(Q3,)),
        outcome("ROT-01", Status.NOT_APPLICABLE, questions=(Q4,)),
    ]
    views = answers(checks)
    assert views[Q1].answer is Answer.NO  # a waiver accepts the risk; the answer stays "no"
    assert "ENC-02 (title of ENC-02)" in views[Q1].summary
    assert views[Q2].answer is Answer.YES_WITH_WARNINGS
    assert views[Q3].answer is Answer.UNKNOWN
    assert views[Q4].answer is Answer.NOT_APPLICABLE
    assert views[Q1].checks[Status.FAIL] == ["ENC-02"]


def test_all_pass_is_yes_and_no_checks_is_unknown():
    views = answers([outcome("ENC-01", Status.PASS, questions=(Q1,))])
    assert views[Q1].answer is Answer.YES
    assert views[Q2].answer is Answer.UNKNOWN


def test_q5_is_attested_never_measured():
    checks = [outcome("ENC-01", Status.FAIL, questions=(Q1, Q5))]
    assert answers(checks)[Q5].answer is Answer.NOT_ATTESTED
    attested = answers(
        checks, CodeAttestation(statement="Apache-2.0 on GitHub", attested_by="Acme")
    )
    assert attested[Q5].answer is Answer.ATTESTED
    assert "Apache-2.0 on GitHub" in attested[Q5].summary
    assert all(ids == [] for ids in attested[Q5].checks.values())


def test_threat_matrix_uses_effective_status_and_lists_every_status():
    checks = [
        outcome("ENC-01", Status.PASS, threats=(Threat.T1,)),
        outcome("LOG-01", Status.WAIVED, raw=Status.FAIL, threats=(Threat.T1, Threat.T3)),
    ]
    views = {v.threat: v for v in threat_views(checks)}
    assert set(views[Threat.T2].checks) == set(Status)
    assert views[Threat.T1].checks[Status.PASS] == ["ENC-01"]
    assert views[Threat.T1].checks[Status.WAIVED] == ["LOG-01"]
    assert views[Threat.T3].checks[Status.WAIVED] == ["LOG-01"]
    assert views[Threat.T1].title == "Database breach"

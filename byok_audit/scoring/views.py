"""The reader's views: the three threat models and the article's five questions.

Threats are shown against effective statuses (the matrix has a WAIVED column). Questions are answered
from what was measured (raw statuses): a waiver accepts a risk, it does not change the answer. Q5 is
never measured: it shows the vendor's attestation, or says there is none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from byok_audit.models.finding import Question, Status, Threat
from byok_audit.models.result import Answer, CheckOutcome, CodeAttestation, QuestionView, ThreatView

THREAT_TITLES: dict[Threat, str] = {
    Threat.T1: "Database breach",
    Threat.T2: "Malicious or compromised platform code",
    Threat.T3: "Log or telemetry leak",
}

QUESTION_TEXTS: dict[Question, str] = {
    Question.Q1: "Is the stored key encrypted, authenticated and bound to its user?",
    Question.Q2: "Does a BYOK call go directly to the provider, not via an LLM router?",
    Question.Q3: "Are prompts, responses and keys kept out of logs and telemetry?",
    Question.Q4: "Are replace and delete self-service, immediate, and a hard delete?",
    Question.Q5: "Is the code open source or independently audited?",
}


def _by_status(
    checks: Sequence[CheckOutcome], status_of: Callable[[CheckOutcome], Status]
) -> dict[Status, list[str]]:
    grouped: dict[Status, list[str]] = {status: [] for status in Status}
    for check in checks:
        grouped[status_of(check)].append(check.check_id)
    return grouped


def threat_views(checks: Sequence[CheckOutcome]) -> list[ThreatView]:
    return [
        ThreatView(
            threat=threat,
            title=THREAT_TITLES[threat],
            checks=_by_status([c for c in checks if threat in c.threats], lambda c: c.status),
        )
        for threat in Threat
    ]


def _listing(label: str, ids: Sequence[str], checks: Sequence[CheckOutcome]) -> str:
    titles = {c.check_id: c.title for c in checks}
    return f"{label}: " + "; ".join(f"{i} ({titles[i]})" for i in ids) + "."


def _answer(question: Question, checks: Sequence[CheckOutcome]) -> QuestionView:
    grouped = _by_status(checks, lambda c: c.raw_status)
    mandatory_errors = [
        c.check_id for c in checks if c.raw_status is Status.ERROR and not c.optional
    ]
    measured = len(grouped[Status.PASS]) + len(grouped[Status.WARN])
    if grouped[Status.FAIL]:
        answer = Answer.NO
        summary = _listing("Failed", grouped[Status.FAIL], checks)
    elif mandatory_errors:
        answer = Answer.UNKNOWN
        summary = _listing("Could not run", mandatory_errors, checks)
    elif not checks:
        answer = Answer.UNKNOWN
        summary = "No check in this audit measures it."
    elif not measured:
        answer = Answer.NOT_APPLICABLE
        summary = "Every check for it was declared out of scope or could not run."
    elif grouped[Status.WARN]:
        answer = Answer.YES_WITH_WARNINGS
        summary = _listing("Warnings", grouped[Status.WARN], checks)
    else:
        answer = Answer.YES
        summary = f"{measured} check{'s' if measured != 1 else ''} passed, none failed."
    return QuestionView(
        question=question,
        text=QUESTION_TEXTS[question],
        answer=answer,
        summary=summary,
        checks=grouped,
    )


def question_views(
    checks: Sequence[CheckOutcome], attestation: CodeAttestation | None
) -> list[QuestionView]:
    views = [
        _answer(q, [c for c in checks if q in c.questions])
        for q in Question
        if q is not Question.Q5
    ]
    empty: dict[Status, list[str]] = {status: [] for status in Status}
    if attestation is None:
        q5 = QuestionView(
            question=Question.Q5,
            text=QUESTION_TEXTS[Question.Q5],
            answer=Answer.NOT_ATTESTED,
            summary="The vendor made no statement. This question is never measured.",
            checks=empty,
        )
    else:
        q5 = QuestionView(
            question=Question.Q5,
            text=QUESTION_TEXTS[Question.Q5],
            answer=Answer.ATTESTED,
            summary=f"{attestation.statement} (attested by {attestation.attested_by}; not measured)",
            checks=empty,
        )
    return [*views, q5]

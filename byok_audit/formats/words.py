"""Plain words and orderings shared by the human-facing formats (html, markdown, badge)."""

from __future__ import annotations

from collections.abc import Iterable

from byok_audit.models.finding import Status
from byok_audit.models.result import Answer, CheckOutcome

#: Most urgent first: what a reader must act on comes before what is fine.
STATUS_ORDER: tuple[Status, ...] = (
    Status.FAIL,
    Status.ERROR,
    Status.WARN,
    Status.WAIVED,
    Status.PASS,
    Status.NOT_APPLICABLE,
)

STATUS_WORDS: dict[Status, str] = {
    Status.PASS: "pass",
    Status.FAIL: "fail",
    Status.WARN: "warning",
    Status.NOT_APPLICABLE: "not applicable",
    Status.ERROR: "error",
    Status.WAIVED: "waived",
}

STATUS_LABELS: dict[Status, str] = {
    Status.PASS: "PASS",
    Status.FAIL: "FAIL",
    Status.WARN: "WARN",
    Status.NOT_APPLICABLE: "N/A",
    Status.ERROR: "ERROR",
    Status.WAIVED: "WAIVED",
}

ANSWER_WORDS: dict[Answer, str] = {
    Answer.YES: "Yes",
    Answer.YES_WITH_WARNINGS: "Yes, with warnings",
    Answer.NO: "No",
    Answer.UNKNOWN: "Could not tell",
    Answer.NOT_APPLICABLE: "Not applicable",
    Answer.ATTESTED: "Attested",
    Answer.NOT_ATTESTED: "Not attested",
}


def urgent_first(checks: Iterable[CheckOutcome]) -> list[CheckOutcome]:
    """Failing checks first, then by severity (critical first), then by id."""
    return sorted(
        checks, key=lambda c: (STATUS_ORDER.index(c.status), -c.severity.rank, c.check_id)
    )


def score_text(score: float | None) -> str:
    return "n/a" if score is None else f"{score:g}"

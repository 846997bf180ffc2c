"""The audit result: what one audit concluded, graded, with the gate's verdict.

Checks produce :class:`CheckResult`; :mod:`byok_audit.evaluate` turns a bundle into an :class:`AuditResult`;
every output format renders one. The JSON form of this model is the canonical, lossless result
(``docs/result.schema.json``): a saved result can be re-rendered, re-gated or attested later.

Grading keeps two views side by side: ``raw`` ignores waivers (what was measured) and ``effective``
applies them (what the team accepted). Each check keeps its measured ``raw_status`` next to its
effective ``status``, so waivers can be re-applied to a stored result.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import StringConstraints

from byok_audit.models.base import Strict
from byok_audit.models.finding import CheckResult, Question, Severity, Status, Threat

RESULT_SCHEMA_VERSION = 1

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Grade(StrEnum):
    """Letter grade. ``I`` (incomplete) is not a letter on the scale: it never passes a gate."""

    A_PLUS = "A+"
    A = "A"
    A_MINUS = "A-"
    B = "B"
    C = "C"
    F = "F"
    INCOMPLETE = "I"

    @property
    def rank(self) -> int:
        """Higher is better; ``I`` ranks below everything."""
        return {"A+": 6, "A": 5, "A-": 4, "B": 3, "C": 2, "F": 1, "I": 0}[self.value]


class CheckOutcome(CheckResult):
    """A check's result inside an audit result.

    ``status`` is effective (``WAIVED`` when a waiver applies); ``raw_status`` is what the check measured.
    ``evidence_fingerprint`` identifies the evidence, so a waiver scoped to it never absorbs a new finding.
    """

    raw_status: Status
    evidence_fingerprint: str
    rationale: str = ""
    waiver: str | None = None  # location ("file:line") of the waiver that applies


class Cap(Strict):
    """One reason the grade is no better than ``grade`` (SSL Labs style named cap)."""

    grade: Grade
    check_id: str
    severity: Severity
    status: Status
    reason: str


class Grading(Strict):
    """Grade, score and the caps behind them, for one view (raw or effective)."""

    grade: Grade
    score: float | None  # 0-100 over measured checks; None when nothing was measured
    caps: list[Cap]
    incomplete: list[str]  # mandatory checks in ERROR (grade I)
    reason: str  # one sentence: why this grade


class Waiver(Strict):
    """One entry of a waivers file: an accepted, owned, expiring risk for one check on one target."""

    check: NonEmpty
    target: NonEmpty
    fingerprint: NonEmpty | None = None
    justification: NonEmpty
    owner: NonEmpty
    expires: date
    ticket: NonEmpty | None = None


class WaiverOutcome(Strict):
    """What became of one waiver in this audit."""

    waiver: Waiver
    location: str  # "waivers.toml:12"
    state: Literal["applied", "expired", "unused"]
    note: str


class ThreatView(Strict):
    """One threat model against the effective check statuses (every status key present)."""

    threat: Threat
    title: str
    checks: dict[Status, list[str]]


class Answer(StrEnum):
    YES = "yes"
    YES_WITH_WARNINGS = "yes_with_warnings"
    NO = "no"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"
    ATTESTED = "attested"
    NOT_ATTESTED = "not_attested"


class QuestionView(Strict):
    """One of the five questions, answered from the measured (raw) statuses; Q5 from the attestation."""

    question: Question
    text: str
    answer: Answer
    summary: str
    checks: dict[Status, list[str]]


class CodeAttestation(Strict):
    """The vendor's word on Q5 (is the code open or audited?). Shown as attested, never scored."""

    statement: NonEmpty
    attested_by: NonEmpty
    reference: str = ""


class GatePolicy(Strict):
    """What fails the CI gate. With neither option set, any FAIL fails (``fail_on=low``)."""

    fail_on: Severity | None = Severity.LOW
    min_grade: Grade | None = None


class GateOutcome(Strict):
    policy: GatePolicy
    passed: bool
    exit_code: int
    reasons: list[str]


class TargetSummary(Strict):
    name: str
    profile_path: str


class AuditResult(Strict):
    """One graded audit. Self-identifying (``document``) so tools can tell it from an evidence bundle."""

    document: Literal["byok-audit-result"] = "byok-audit-result"
    schema_version: Literal[1] = RESULT_SCHEMA_VERSION
    tool_version: str
    criteria_version: str
    run_id: str
    target: TargetSummary
    started: datetime
    ended: datetime
    waivers_as_of: date
    bundle_digest: str  # "sha256:<hex>" of the saved evidence bundle text
    collected_with: str  # tool version that collected the evidence
    sealed_egress: bool
    run_errors: list[str]
    checks: list[CheckOutcome]
    raw: Grading
    effective: Grading
    threats: list[ThreatView]
    questions: list[QuestionView]
    waivers: list[WaiverOutcome]
    code_attestation: CodeAttestation | None = None
    gate: GateOutcome

    def check(self, check_id: str) -> CheckOutcome:
        for outcome in self.checks:
            if outcome.check_id == check_id:
                return outcome
        raise KeyError(check_id)

    def waiver_at(self, location: str) -> WaiverOutcome:
        for outcome in self.waivers:
            if outcome.location == location:
                return outcome
        raise KeyError(location)

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks if c.status is status)

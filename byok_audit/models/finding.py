"""Check outcomes: statuses, severities, evidence references and per-check results."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from byok_audit.models.base import Strict


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def weight(self) -> float:
        return {"critical": 10.0, "high": 7.5, "medium": 5.0, "low": 2.5}[self.value]

    @property
    def rank(self) -> int:
        return {"critical": 4, "high": 3, "medium": 2, "low": 1}[self.value]


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    WARN = "WARN"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    ERROR = "ERROR"
    WAIVED = "WAIVED"


class Threat(StrEnum):
    T1 = "T1"  # database breach
    T2 = "T2"  # malicious or compromised platform code
    T3 = "T3"  # log / telemetry leak


class Question(StrEnum):
    Q1 = "Q1"  # stored key encrypted, authenticated, per user
    Q2 = "Q2"  # direct to the provider, no router
    Q3 = "Q3"  # prompts, responses, keys kept out of logs and telemetry
    Q4 = "Q4"  # replace/delete self-service, immediate, hard
    Q5 = "Q5"  # code open or audited (attested)


class EvidenceRef(Strict):
    """Where a finding was observed. ``detail`` is already redacted (canaries as fingerprints)."""

    kind: Literal["exchange", "file", "db", "step", "api", "note"]
    ref: str
    detail: str = ""


class CheckResult(Strict):
    """One check's outcome for one audit."""

    check_id: str
    title: str
    severity: Severity
    threats: list[Threat]
    questions: list[Question]
    optional: bool = False
    status: Status
    summary: str
    evidence: list[EvidenceRef] = []
    remediation: str = ""

"""What a check is: catalog metadata plus a pure function from an evidence bundle to a verdict.

A check never does I/O. When the evidence it needs is absent it raises :class:`EvidenceMissing`
(ERROR, never PASS); when the profile declares the check out of scope it is NOT_APPLICABLE with the
profile's reason. Any crash is an ERROR too. Every text a verdict carries is redacted before it leaves.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import (
    CheckResult,
    EvidenceRef,
    Question,
    Severity,
    Status,
    Threat,
)


class EvidenceMissing(Exception):
    """The bundle lacks what this check needs (a step did not run, a snapshot failed, ...)."""


@dataclass(frozen=True)
class Verdict:
    status: Status
    summary: str
    evidence: tuple[EvidenceRef, ...] = ()

    @classmethod
    def passed(cls, summary: str, evidence: Iterable[EvidenceRef] = ()) -> Verdict:
        return cls(Status.PASS, summary, tuple(evidence))

    @classmethod
    def failed(cls, summary: str, evidence: Iterable[EvidenceRef] = ()) -> Verdict:
        return cls(Status.FAIL, summary, tuple(evidence))

    @classmethod
    def warn(cls, summary: str, evidence: Iterable[EvidenceRef] = ()) -> Verdict:
        return cls(Status.WARN, summary, tuple(evidence))

    @classmethod
    def not_applicable(cls, reason: str) -> Verdict:
        return cls(Status.NOT_APPLICABLE, reason)


Evaluate = Callable[[EvidenceBundle], Verdict]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    severity: Severity
    threats: tuple[Threat, ...]
    questions: tuple[Question, ...]
    remediation: str
    evaluate: Evaluate = field(repr=False)
    optional: bool = False

    @property
    def rationale(self) -> str:
        """The check function's docstring: why the property matters and how it is measured."""
        return inspect.getdoc(self.evaluate) or ""

    def run(self, bundle: EvidenceBundle) -> CheckResult:
        reason = bundle.target.out_of_scope.get(self.id)
        if reason is not None:
            verdict = Verdict.not_applicable(f"declared out of scope by the profile: {reason}")
        else:
            try:
                verdict = self.evaluate(bundle)
            except EvidenceMissing as missing:
                verdict = Verdict(Status.ERROR, f"could not run: {missing}")
            except Exception as crash:  # a crashing check must never look like a pass
                verdict = Verdict(Status.ERROR, f"check crashed: {type(crash).__name__}: {crash}")
        redact = bundle.canaries.redact
        return CheckResult(
            check_id=self.id,
            title=self.title,
            severity=self.severity,
            threats=list(self.threats),
            questions=list(self.questions),
            optional=self.optional,
            status=verdict.status,
            summary=redact(verdict.summary),
            evidence=[
                e.model_copy(update={"ref": redact(e.ref), "detail": redact(e.detail)})
                for e in verdict.evidence
            ],
            remediation=self.remediation,
        )


def check(
    *,
    id: str,
    title: str,
    severity: Severity,
    threats: Iterable[Threat],
    questions: Iterable[Question],
    remediation: str,
    optional: bool = False,
) -> Callable[[Evaluate], Check]:
    """Declare a check: ``@check(id="ENC-01", ...)`` above ``def name(bundle) -> Verdict``."""

    def wrap(evaluate: Evaluate) -> Check:
        return Check(
            id=id,
            title=title,
            severity=severity,
            threats=tuple(threats),
            questions=tuple(questions),
            remediation=remediation,
            evaluate=evaluate,
            optional=optional,
        )

    return wrap

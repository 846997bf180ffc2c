"""Evidence bundle → graded :class:`AuditResult`: run every check, apply waivers, score, gate.

Pure: no clock, no files. ``today`` (for waiver expiry) and the bundle's digest come in as arguments, so
the same inputs always give the same result. ``byok-audit report`` and ``byok-audit run`` both call
:func:`evaluate`; :func:`regrade` re-applies waivers and a gate to a stored result.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime

from byok_audit import CRITERIA_VERSION, __version__
from byok_audit.checks import ALL_CHECKS, Check
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import CheckResult
from byok_audit.models.result import (
    AuditResult,
    CheckOutcome,
    CodeAttestation,
    GatePolicy,
    TargetSummary,
)
from byok_audit.scoring.gate import judge
from byok_audit.scoring.grade import effective_status, grading, raw_status
from byok_audit.scoring.views import question_views, threat_views
from byok_audit.scoring.waivers import LocatedWaiver, apply_waivers, waivers_of

# A redacted canary reads «role:id (prefix…#1a2b3c4d)»; the fingerprint differs per run, the id does not.
_CANARY_FINGERPRINT = re.compile(r"#[0-9a-f]{8}\)»")


def sha256_digest(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def evidence_fingerprint(result: CheckResult) -> str:
    """Stable id of a finding's evidence, for waivers scoped to exactly this finding.

    Covers the summary and every evidence reference, with per-run canary fingerprints normalised away, so
    the same finding on the next run keeps its fingerprint and a different finding gets a new one.
    """
    material = json.dumps(
        {
            "check": result.check_id,
            "summary": result.summary,
            "evidence": [[e.kind, e.ref, e.detail] for e in result.evidence],
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(_CANARY_FINGERPRINT.sub(")»", material).encode()).hexdigest()[:16]


def outcome_of(check: Check, result: CheckResult) -> CheckOutcome:
    return CheckOutcome(
        **result.model_dump(),
        raw_status=result.status,
        evidence_fingerprint=evidence_fingerprint(result),
        rationale=check.rationale,
    )


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def grade_checks(
    checks: Sequence[CheckOutcome],
    *,
    target: str,
    waivers: Sequence[LocatedWaiver],
    today: date,
    gate: GatePolicy,
    code_attestation: CodeAttestation | None,
) -> dict[str, object]:
    """The graded part of a result: waivers applied, both gradings, the views and the gate."""
    waived, waiver_outcomes = apply_waivers(checks, waivers, target=target, today=today)
    effective = grading(waived, effective_status)
    return {
        "waivers_as_of": today,
        "checks": waived,
        "raw": grading(waived, raw_status),
        "effective": effective,
        "threats": threat_views(waived),
        "questions": question_views(waived, code_attestation),
        "waivers": waiver_outcomes,
        "code_attestation": code_attestation,
        "gate": judge(waived, effective, gate),
    }


def evaluate(
    bundle: EvidenceBundle,
    *,
    today: date,
    waivers: Sequence[LocatedWaiver] = (),
    gate: GatePolicy | None = None,
    checks: Sequence[Check] = ALL_CHECKS,
    bundle_digest: str | None = None,
    code_attestation: CodeAttestation | None = None,
) -> AuditResult:
    """Grade a bundle. ``bundle_digest`` defaults to the digest of ``bundle.dumps()`` (the saved text)."""
    redact = bundle.canaries.redact
    outcomes = [outcome_of(check, check.run(bundle)) for check in checks]
    fields: dict[str, object] = {
        "tool_version": __version__,
        "criteria_version": CRITERIA_VERSION,
        "run_id": bundle.run_id,
        "target": TargetSummary(name=bundle.target.name, profile_path=bundle.target.profile_path),
        "started": _utc(bundle.started),
        "ended": _utc(bundle.ended),
        "bundle_digest": bundle_digest or sha256_digest(bundle.dumps()),
        "collected_with": bundle.tool_version,
        "sealed_egress": bundle.harness.sealed_egress,
        "run_errors": [redact(e) for e in (*bundle.harness.errors, *bundle.errors)],
    }
    graded = grade_checks(
        outcomes,
        target=bundle.target.name,
        waivers=waivers,
        today=today,
        gate=gate or GatePolicy(),
        code_attestation=code_attestation,
    )
    return AuditResult.model_validate({**fields, **graded})


def regrade(
    result: AuditResult,
    *,
    today: date,
    waivers: Sequence[LocatedWaiver] | None = None,
    gate: GatePolicy | None = None,
    code_attestation: CodeAttestation | None = None,
) -> AuditResult:
    """Re-apply waivers (the given ones, else the result's own, judged against ``today``) and a gate.

    The measured statuses are kept; only waivers, grades, views and the gate are recomputed.
    """
    graded = grade_checks(
        result.checks,
        target=result.target.name,
        waivers=waivers_of(result.waivers) if waivers is None else waivers,
        today=today,
        gate=gate or GatePolicy(),
        code_attestation=code_attestation or result.code_attestation,
    )
    return AuditResult.model_validate({**result.model_dump(), **graded})

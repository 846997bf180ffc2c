"""SARIF 2.1.0 for code-scanning UIs (GitHub code scanning accepts it as is).

One rule per check (help text = remediation and rationale, ``security-severity`` 9.0/7.0/4.0/1.0), results
only for FAIL and WARN, plus WAIVED as a suppressed result carrying the waiver's justification. GitHub
rejects a result without a physical location, so every result points at the target profile, line 1
(the audit has no source file to blame). ``partialFingerprints`` carries the evidence fingerprint so
alerts stay stable across runs.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath, PureWindowsPath

from byok_audit.models.finding import Severity, Status
from byok_audit.models.result import AuditResult, CheckOutcome

NAME = "sarif"
SUFFIX = ".sarif"

SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.0",
    Severity.HIGH: "7.0",
    Severity.MEDIUM: "4.0",
    Severity.LOW: "1.0",
}
_LEVEL: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
REPORTED = (Status.FAIL, Status.WARN, Status.WAIVED)


def artifact_uri(profile_path: str) -> str:
    """The profile as a URI: relative paths stay relative (repository-relative for code scanning)."""
    if not profile_path:
        return "byok-audit.toml"
    if PureWindowsPath(profile_path).is_absolute() and not profile_path.startswith("/"):
        return PureWindowsPath(profile_path).as_uri()
    path = PurePosixPath(profile_path.replace("\\", "/"))
    return path.as_uri() if path.is_absolute() else str(path)


def _rule(check: CheckOutcome) -> dict[str, object]:
    help_text = check.remediation or check.title
    if check.rationale:
        help_text += "\n\n" + check.rationale
    return {
        "id": check.check_id,
        "name": "".join(part.capitalize() for part in check.check_id.split("-")),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.rationale or check.title},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": _LEVEL[check.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[check.severity],
            "problem.severity": "error" if check.severity.rank >= 3 else "warning",
            "precision": "high",
            "tags": [
                "security",
                "byok",
                str(check.severity),
                *(str(t) for t in check.threats),
                *(str(q) for q in check.questions),
            ],
        },
    }


def _message(check: CheckOutcome) -> str:
    parts = [f"{check.check_id} {check.title}: {check.summary}"]
    parts += [f"[{e.kind}] {e.ref}" + (f": {e.detail}" if e.detail else "") for e in check.evidence]
    if check.remediation:
        parts.append(f"Fix: {check.remediation}")
    return "\n".join(parts)


def _result(result: AuditResult, check: CheckOutcome, index: int, uri: str) -> dict[str, object]:
    measured = check.raw_status
    entry: dict[str, object] = {
        "ruleId": check.check_id,
        "ruleIndex": index,
        "level": _LEVEL[check.severity] if measured is Status.FAIL else "warning",
        "kind": "fail",
        "message": {"text": _message(check)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"startLine": 1},
                }
            }
        ],
        "partialFingerprints": {"byokEvidence/v1": check.evidence_fingerprint},
        "properties": {"status": str(check.status), "measured": str(measured)},
    }
    if check.status is Status.WAIVED and check.waiver is not None:
        waiver = result.waiver_at(check.waiver).waiver
        entry["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": (
                    f"{waiver.justification} (owner {waiver.owner}, "
                    f"expires {waiver.expires.isoformat()}, {check.waiver})"
                ),
            }
        ]
    return entry


def render(result: AuditResult) -> str:
    uri = artifact_uri(result.target.profile_path)
    index = {c.check_id: i for i, c in enumerate(result.checks)}
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "byok-audit",
                        "version": result.tool_version,
                        "semanticVersion": result.tool_version,
                        "rules": [_rule(c) for c in result.checks],
                    }
                },
                "automationDetails": {"id": f"byok-audit/{result.target.name}/{result.run_id}"},
                "results": [
                    _result(result, c, index[c.check_id], uri)
                    for c in result.checks
                    if c.status in REPORTED
                ],
                "properties": {
                    "criteria_version": result.criteria_version,
                    "grade": str(result.effective.grade),
                    "raw_grade": str(result.raw.grade),
                    "score": result.effective.score,
                    "bundle_digest": result.bundle_digest,
                },
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

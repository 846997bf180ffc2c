"""A result whose target-controlled text tries to break out of every format."""

from __future__ import annotations

from byok_audit.models.finding import EvidenceRef
from byok_audit.models.result import AuditResult

PAYLOAD = (
    "</pre><script>alert(1)</script><img src=x onerror=alert(2)> "
    "![pixel](https://evil.example/p.png) [link](https://evil.example) | col ]]> \x07 `tick`"
)


def hostile(result: AuditResult) -> AuditResult:
    """Copy of ``result`` with the payload in the summary and evidence of its first failing check."""
    checks = []
    for check in result.checks:
        if check.check_id == "RTE-03":
            check = check.model_copy(
                update={
                    "summary": PAYLOAD,
                    "evidence": [EvidenceRef(kind="file", ref=PAYLOAD, detail=PAYLOAD)],
                }
            )
        checks.append(check)
    return result.model_copy(update={"checks": checks})

"""API-02: the key is never taken in a URL query string."""

from __future__ import annotations

from urllib.parse import urlsplit

from byok_audit.checks.api.refusal import bad_inputs, refusal_problems
from byok_audit.checks.base import Verdict, check
from byok_audit.checks.common import KEY_ROLES, capped, final_status, hit_detail, scanner
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Severity, Threat


@check(
    id="API-02",
    title="The key is never taken in a URL query string",
    severity=Severity.MEDIUM,
    threats=[Threat.T3],
    questions=[],
    remediation=(
        "Accept keys only in a request body or header; answer 400 to any request carrying a key in "
        "the URL (URLs are written to access logs, proxy logs, browser history and tracing spans)."
    ),
)
def no_key_in_query(bundle: EvidenceBundle) -> Verdict:
    """URLs are logged everywhere (uvicorn's access log, httpx at INFO, OpenTelemetry ``url.full``), so
    an endpoint that takes ``?key=`` leaks every key it is given. The bad_input step of kind
    key_in_query must be refused with a 4xx, its key (``data.canary``) must never leave the target nor
    show in the user's next GET, and must not be echoed back. In addition, any call the driver made
    with a key canary in the URL query (any encoding) that the target accepted (2xx) is a FAIL. Needs
    the key_in_query step (else ERROR).
    """
    steps = bad_inputs(bundle, "key_in_query")
    problems = [p for s in steps for p in refusal_problems(bundle, s)]
    scan = scanner(bundle, KEY_ROLES, fragments=False, digests=False)
    for step in bundle.steps:
        for call in step.calls:
            if call.status is None or not 200 <= call.status < 300:
                continue
            query = urlsplit(call.url).query.encode()
            problems += [
                EvidenceRef(
                    kind="api",
                    ref=f"step {step.index} ({step.action}): {call.method} → {call.status}",
                    detail=f"accepted a key in the URL query: {hit_detail(bundle, hit)}",
                )
                for hit in scan.scan_bytes(query, f"query of a call in step {step.index}")
            ]
    if problems:
        return Verdict.failed(f"{len(problems)} ways a key in the URL was taken", capped(problems))
    statuses = ", ".join(str(final_status(s)) for s in steps)
    return Verdict.passed(
        f"a key in the query string was refused ({statuses}) and not stored; no accepted call "
        "carried a key in its URL"
    )

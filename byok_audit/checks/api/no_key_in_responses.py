"""API-01: no API response ever returns the key beyond the display suffix."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    KEY_ROLES,
    capped,
    hit_detail,
    plural,
    reply_bytes,
    scanner,
    size,
)
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Severity, Threat


@check(
    id="API-01",
    title="No API response returns the key (beyond the display suffix)",
    severity=Severity.HIGH,
    threats=[Threat.T3],
    questions=[],
    remediation=(
        "Return only a fingerprint and the last few characters of a stored key; never echo the key "
        "from PUT, GET, error or validation responses (FastAPI's default 422 echoes input)."
    ),
)
def no_key_in_responses(bundle: EvidenceBundle) -> Verdict:
    """A key that comes back in a response ends up in browser caches, HAR files, proxy logs and support
    screenshots. Every answer the target's API gave the driver, in every step (headers, and the body
    decoded per its Content-Encoding: gzip, deflate, br, zstd), is scanned for every key and OAuth-token canary: raw and in every encoding, and as any fragment beyond
    the declared display suffix (the suffix alone is allowed). A hit is a FAIL. Needs at least one
    answered call of a put_key or get_key step (else ERROR).
    """
    key_steps = [
        s for s in bundle.steps if s.action in ("put_key", "get_key") and s.outcome != "error"
    ]
    if not any(c.status is not None for s in key_steps for c in s.calls):
        raise EvidenceMissing("no put_key or get_key call was answered by the target")
    scan = scanner(bundle, KEY_ROLES, fragments=True, digests=False)
    echoes: list[EvidenceRef] = []
    answers = total = 0
    for step in bundle.steps:
        for call in step.calls:
            if call.status is None:
                continue
            data = reply_bytes(call)
            answers, total = answers + 1, total + len(data)
            for hit in scan.scan_bytes(data, f"reply to step {step.index}"):
                echoes.append(
                    EvidenceRef(
                        kind="api",
                        ref=f"step {step.index} ({step.action}): {call.method} {call.url} → {call.status}",
                        detail=hit_detail(bundle, hit),
                    )
                )
    if echoes:
        return Verdict.failed(
            f"{plural(len(echoes), 'key echo')} in {plural(answers, 'API response')}",
            capped(echoes),
        )
    suffix = bundle.target.display_suffix_len
    return Verdict.passed(
        f"scanned {plural(answers, 'API response')} ({size(total)}): no key beyond the {suffix}-character "
        "display suffix"
    )

"""ENC-08: the master secret never shows up in the database, logs, API responses or egress."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    capped,
    exchange_ref,
    file_ref,
    hit_detail,
    plural,
    reply_bytes,
    size,
    step_ref,
)
from byok_audit.checks.enc.at_rest import scan_at_rest
from byok_audit.models.canary import CanaryRole
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Question, Severity, Threat
from byok_audit.scan import Scanner

#: Windows of 16 hex digits (64 bits) never match by chance, even in logs full of hex request ids.
MIN_FRAGMENT = 16


@check(
    id="ENC-08",
    title="Master secret never in database, logs, responses or egress",
    severity=Severity.CRITICAL,
    threats=[Threat.T1, Threat.T3],
    questions=[Question.Q1],
    remediation=(
        "Load the master secret from the environment or a KMS into memory only; never store it in "
        "the database, log configuration or environment dumps, or send it in any request."
    ),
)
def master_secret_absent(bundle: EvidenceBundle) -> Verdict:
    """The master secret decrypts every stored key: next to the database it turns a breach into a
    full key leak, in a log or a telemetry event it is a leak by itself. The harness mints the
    target's master secret when the profile passes ``{master_secret}`` to it; then every database
    snapshot (cells, logical dump, raw files located as for ENC-01), every captured log, stdout and
    stderr, every response the target's API gave the driver (headers and body) and every request
    the target sent anywhere (egress) is scanned for it: raw, hex of either case, base64, the binary
    bytes it stands for, and any run of 16 or more of its characters. A profile that does not hand
    the master secret over makes the check NOT_APPLICABLE: the audit cannot know the value.
    """
    if not bundle.target.master_secret_set:
        return Verdict.not_applicable(
            "the profile does not hand the harness's master secret to the target ({master_secret} "
            "unused), so the audit cannot recognise it"
        )
    secrets = bundle.canaries.of_role(CanaryRole.MASTER_SECRET)
    if not secrets:
        raise EvidenceMissing("the bundle's canary table holds no master secret")
    scan = Scanner(secrets, display_suffix_len=0, min_fragment=MIN_FRAGMENT, digests=False)
    at_rest = scan_at_rest(bundle, scan, lambda hit: True)
    refs: list[EvidenceRef] = list(at_rest.refs)

    files = [f for f in bundle.files if not f.missing]
    for captured in files:
        refs += [file_ref(bundle, captured, hit) for hit in scan.scan_captured(captured)]
    replies = 0
    for step in bundle.steps:
        for number, call in enumerate(step.calls, 1):
            if call.status is None:
                continue
            replies += 1
            for hit in scan.scan_bytes(
                reply_bytes(call), f"step {step.index} call {number} response"
            ):
                refs.append(step_ref(step, f"in the API response: {hit_detail(bundle, hit)}"))
    for exchange in bundle.exchanges:
        refs += [
            exchange_ref(exchange, f"sent by the target: {hit_detail(bundle, hit)}")
            for hit in scan.scan_request(exchange)
        ]
    examined = (
        f"{at_rest.examined()}; {plural(len(files), 'captured file')} "
        f"({size(sum(len(f.content) for f in files))}), {plural(replies, 'API response')}, "
        f"{plural(len(bundle.exchanges), 'outbound exchange')}"
    )
    if refs:
        return Verdict.failed(
            f"the master secret leaked {len(refs)} time(s) ({examined})", capped(refs)
        )
    return Verdict.passed(f"{examined}: no trace of the master secret")

"""ENC-05: a one-bit flip in the stored ciphertext makes the platform refuse, and nothing goes upstream."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    exchange_ref,
    final_status,
    require_steps,
    step_ref,
    upstream_calls,
)
from byok_audit.checks.enc.stored import (
    describe_credential,
    key_column,
    next_change,
    own_prompts,
    snapshot_after,
    snapshot_before,
    step_name,
)
from byok_audit.forensics.records import new_values
from byok_audit.models.evidence import EvidenceBundle, StepRecord
from byok_audit.models.finding import EvidenceRef, Question, Severity, Threat


def acting_user(step: StepRecord, param: str = "user") -> str:
    user = step.user or step.params.get(param)
    if not isinstance(user, str):
        raise EvidenceMissing(f"{step_name(step)} names no user")
    return user


def stored_records(bundle: EvidenceBundle, step: StepRecord) -> dict[str, bytes]:
    """The key column's values that a tamper/transplant step replaced and wrote, when snapshots
    around it exist: to recognise a platform that sends the record itself upstream."""
    before, after = snapshot_before(bundle, step), snapshot_after(bundle, step)
    if before is None or after is None or before.error or after.error:
        return {}
    try:
        column = key_column(bundle)
    except EvidenceMissing:
        return {}
    records = {}
    for value in new_values(after, before, column.table, column.column):
        records[f"as stored before {step_name(step)}"] = value
    for value in new_values(before, after, column.table, column.column):
        records[f"as written by {step_name(step)}"] = value
    return records


def judge_prompt_after(
    bundle: EvidenceBundle, step: StepRecord, user: str, what: str
) -> tuple[list[EvidenceRef], StepRecord]:
    """The user's first prompt after ``step`` must be refused with no upstream call. Returns the
    evidence of every way it was not, and the prompt judged."""
    prompts = own_prompts(bundle, user, step.index, next_change(bundle, user, step.index))
    if not prompts:
        raise EvidenceMissing(f"no prompt by {user} after {step_name(step)} ({what})")
    prompt = prompts[0]
    records = stored_records(bundle, step)
    problems = [
        exchange_ref(
            exchange,
            f"after {what}, {step_name(prompt)} reached the provider with "
            f"{describe_credential(exchange, bundle, records)}",
        )
        for exchange in upstream_calls(bundle, prompt)
    ]
    status = final_status(prompt)
    if status is None:
        raise EvidenceMissing(f"{step_name(prompt)} got no answer from the target")
    if not problems and status < 400:
        problems.append(
            step_ref(prompt, f"after {what} the target answered {status} (accepted the prompt)")
        )
    return problems, prompt


@check(
    id="ENC-05",
    title="Authenticated: a one-bit flip in the stored ciphertext makes the platform refuse",
    severity=Severity.HIGH,
    threats=[Threat.T1],
    questions=[Question.Q1],
    remediation=(
        "Use an AEAD (AES-GCM, ChaCha20-Poly1305) and treat a failed tag check as fatal: refuse the "
        "request, never fall back to sending anything upstream."
    ),
)
def authenticated(bundle: EvidenceBundle) -> Verdict:
    """Without authentication, whoever can write the database can flip ciphertext bits and steer the
    decrypted key, and a platform that "falls back" on a decryption error sends a wrong key (or the
    ciphertext itself) to the provider. The harness flips one bit of the user's stored record (a
    ``tamper`` step); the user's next ``prompt`` must be refused (4xx/5xx) with no provider exchange
    in that step. An upstream call with any credential is a FAIL naming it: another key canary, an
    empty key, the stored record itself (recognised from the snapshots around the tamper), an
    unknown value (shown as a fingerprint) or even the original key (then the platform did not read
    the tampered record at all, e.g. a key cache). A 2xx answer with no upstream call is a FAIL too.
    """
    tampers = require_steps(bundle, "tamper")
    problems: list[EvidenceRef] = []
    judged = []
    for tamper in tampers:
        user = acting_user(tamper)
        found, prompt = judge_prompt_after(bundle, tamper, user, f"tampering ({step_name(tamper)})")
        problems += found
        judged.append(f"{step_name(prompt)} answered {final_status(prompt)}")
    summary = f"{len(tampers)} tamper step(s): " + "; ".join(judged)
    if problems:
        return Verdict.failed(f"a tampered record was not refused: {summary}", problems)
    return Verdict.passed(f"tampered records refused with nothing sent upstream: {summary}")

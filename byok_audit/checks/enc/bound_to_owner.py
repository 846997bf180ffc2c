"""ENC-06: user A's ciphertext copied into user B's row does not decrypt for B."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    exchange_ref,
    final_status,
    keys_sent,
    require_steps,
    upstream_calls,
)
from byok_audit.checks.enc.authenticated import judge_prompt_after
from byok_audit.checks.enc.stored import held_key, step_name
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Question, Severity, Threat


@check(
    id="ENC-06",
    title="Bound to owner: user A's ciphertext in user B's row does not decrypt for B",
    severity=Severity.HIGH,
    threats=[Threat.T1],
    questions=[Question.Q1],
    remediation=(
        "Bind each record to its owner and slot: derive the key with HKDF over the user id and pass "
        "user id and slot as AEAD associated data, so a moved record fails its tag check."
    ),
)
def bound_to_owner(bundle: EvidenceBundle) -> Verdict:
    """With one key and no associated data, anyone who can write rows can copy their victim's record
    into their own row and have the platform spend the victim's key for them. The harness copies user
    A's stored record over user B's (a ``transplant`` step, params from_user and to_user); B's next
    prompt must be refused with nothing sent upstream. Reaching the provider with A's key is a FAIL,
    and so is reaching it with anything else derived from the record (an empty key, an unknown value,
    the record itself). If B's call carries B's own previous key the platform never read the moved
    record (a key cache?), so binding was not exercised: a WARN. A 2xx answer with no upstream call
    is a FAIL.
    """
    transplants = require_steps(bundle, "transplant")
    fails: list[EvidenceRef] = []
    warns: list[EvidenceRef] = []
    judged = []
    for step in transplants:
        victim, user = step.params.get("from_user"), step.params.get("to_user")
        if not isinstance(victim, str) or not isinstance(user, str):
            raise EvidenceMissing(f"{step_name(step)} does not name from_user and to_user")
        what = f"moving {victim}'s record into {user}'s row ({step_name(step)})"
        problems, prompt = judge_prompt_after(bundle, step, user, what)
        own = held_key(bundle, user, step.index)
        own_only = [
            e
            for e in upstream_calls(bundle, prompt)
            if own is not None and [c.id for c in keys_sent(e, bundle)] == [own]
        ]
        own_refs = {exchange_ref(e).ref for e in own_only}
        for ref in problems:
            (warns if ref.ref in own_refs else fails).append(ref)
        judged.append(f"{step_name(prompt)} answered {final_status(prompt)}")
    summary = f"{len(transplants)} transplant step(s): " + "; ".join(judged)
    if fails:
        return Verdict.failed(f"a moved record was used for another user: {summary}", fails)
    if warns:
        return Verdict.warn(
            f"the target kept using the user's previous key, so the moved record was never read: "
            f"{summary}",
            warns,
        )
    return Verdict.passed(f"moved records refused with nothing sent upstream: {summary}")

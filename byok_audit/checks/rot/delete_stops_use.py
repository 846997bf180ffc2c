"""ROT-02: after a delete, the user's calls fail clearly and nothing goes upstream."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    capped,
    exchange_ref,
    final_status,
    performed,
    step_ref,
    upstream_calls,
)
from byok_audit.checks.enc.stored import (
    describe_credential,
    held_key,
    is_own,
    next_change,
    own_prompts,
    step_name,
    stray_uses,
)
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Question, Severity


@check(
    id="ROT-02",
    title="After delete, calls fail clearly and nothing goes upstream",
    severity=Severity.CRITICAL,
    threats=[],
    questions=[Question.Q4],
    remediation=(
        "On delete, remove the key from the store and every cache in the same transaction, and "
        "answer later prompts with a clear 4xx ('no API key configured') without calling the provider."
    ),
)
def delete_stops_use(bundle: EvidenceBundle) -> Verdict:
    """A deleted key must stop costing its owner money at once. After each delete_key step (the
    user held a key canary before it), every prompt of that user until their next put must be
    refused with a 4xx and have no provider exchange in its step; an upstream call with any
    credential is a FAIL (the credential named: the deleted key, another, an empty or unknown
    value), a 2xx answer is a FAIL, a 5xx answer is a WARN (refused, but not clearly). No exchange
    after the delete, idle windows included, may carry the deleted key unless another user holding
    it asked. A delete the target refused is judged the same way: it will almost surely FAIL here,
    and ROT-05 reports the refusal itself.
    """
    deletes = [
        s
        for s in bundle.steps_of("delete_key")
        if performed(s) and s.user and is_own(s) and held_key(bundle, s.user, s.index)
    ]
    if not deletes:
        raise EvidenceMissing("needs a delete_key step by a user who held a key")
    fails: list[EvidenceRef] = []
    warns: list[EvidenceRef] = []
    statuses = []
    for delete in deletes:
        user = str(delete.user)
        deleted = bundle.canaries.get(str(held_key(bundle, user, delete.index)))
        prompts = own_prompts(bundle, user, delete.index, next_change(bundle, user, delete.index))
        if not prompts:
            raise EvidenceMissing(f"no prompt by {user} after {step_name(delete)}")
        for prompt in prompts:
            for exchange in upstream_calls(bundle, prompt):
                fails.append(
                    exchange_ref(
                        exchange,
                        f"{step_name(prompt)} after {step_name(delete)} reached the provider with "
                        f"{describe_credential(exchange, bundle)}",
                    )
                )
            status = final_status(prompt)
            if status is None:
                raise EvidenceMissing(f"{step_name(prompt)} got no answer from the target")
            statuses.append(str(status))
            if status < 400:
                fails.append(step_ref(prompt, f"answered {status} after {step_name(delete)}"))
            elif status >= 500:
                warns.append(
                    step_ref(prompt, f"answered {status}: refused, but not with a clear 4xx")
                )
        for exchange in stray_uses(bundle, deleted.id, delete):
            fails.append(
                exchange_ref(
                    exchange, f"the deleted key {deleted.label} was used after {step_name(delete)}"
                )
            )
    summary = f"{len(deletes)} delete(s), prompts afterwards answered {', '.join(statuses)}"
    if fails:
        return Verdict.failed(f"a deleted key stayed usable: {summary}", capped(fails))
    if warns:
        return Verdict.warn(f"refused with server errors rather than a 4xx: {summary}", warns)
    return Verdict.passed(f"{summary}; nothing went upstream and no exchange carried a deleted key")

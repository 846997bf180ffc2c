"""ROT-01: after a replace, the next call uses the new key and the old one is never used again."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import capped, exchange_ref, keys_sent, step_ref, upstream_calls
from byok_audit.checks.enc.stored import (
    describe_credential,
    next_change,
    own_prompts,
    replacements,
    step_name,
    stray_uses,
)
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Question, Severity


@check(
    id="ROT-01",
    title="After replace, the next call uses the new key; the old one is never used again",
    severity=Severity.CRITICAL,
    threats=[],
    questions=[Question.Q4],
    remediation=(
        "Read the key from the store on every call (or invalidate every cache and worker copy in the "
        "same transaction as the replace), so a replaced key is never sent again."
    ),
)
def replace_takes_effect(bundle: EvidenceBundle) -> Verdict:
    """A user replaces a key because it leaked or was revoked; a platform that keeps calling with
    the old one (a stale cache, a background worker) defeats the point. For every replacing put_key
    (the user already held a different key canary), every later prompt of that user that expected
    success (until the user's next put or delete; prompts with an armed fault skipped) must reach the
    provider with the new key and only it. After the replace no exchange at all, idle windows
    included, may carry the old key unless it came from a prompt of another user who still holds
    that key, until someone puts it again. Which key an exchange carries: the raw key canary in its
    request (headers, query, body).
    """
    found = replacements(bundle)
    if not found:
        raise EvidenceMissing(
            "needs a replace: a user puts a key, then puts a different key canary (both 2xx)"
        )
    problems: list[EvidenceRef] = []
    checked = 0
    for replace in found:
        prompts = [
            p
            for p in own_prompts(
                bundle,
                replace.user,
                replace.step.index,
                next_change(bundle, replace.user, replace.step.index),
            )
            if p.params.get("expect", "ok") != "refused" and not p.data.get("fault")
        ]
        if not prompts:
            raise EvidenceMissing(f"no prompt by {replace.user} after {step_name(replace.step)}")
        new = bundle.canaries.get(replace.new)
        for prompt in prompts:
            checked += 1
            calls = upstream_calls(bundle, prompt)
            if not calls:
                problems.append(
                    step_ref(
                        prompt, f"after {step_name(replace.step)} the prompt reached no provider"
                    )
                )
            for exchange in calls:
                sent = [c.id for c in keys_sent(exchange, bundle)]
                if sent != [new.id]:
                    problems.append(
                        exchange_ref(
                            exchange,
                            f"{step_name(prompt)} after {step_name(replace.step)} sent "
                            f"{describe_credential(exchange, bundle)} instead of {new.label}",
                        )
                    )
        old = bundle.canaries.get(replace.old)
        for exchange in stray_uses(bundle, replace.old, replace.step):
            problems.append(
                exchange_ref(
                    exchange,
                    f"the replaced key {old.label} was used after {step_name(replace.step)}",
                )
            )
    summary = f"{len(found)} replace(s), {checked} later prompt(s) checked"
    if problems:
        return Verdict.failed(f"a replaced key stayed in use: {summary}", capped(problems))
    return Verdict.passed(
        f"{summary}: each used only the new key; no exchange carried an old key afterwards"
    )

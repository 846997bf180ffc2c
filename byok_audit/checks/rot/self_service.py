"""ROT-05: replace and delete are self-service through the platform's own API."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import final_status, performed, reply_body, step_ref
from byok_audit.checks.enc.stored import held_key, is_own, replacements, step_name
from byok_audit.models.evidence import EvidenceBundle, StepRecord
from byok_audit.models.finding import EvidenceRef, Question, Severity, Status


def _next_get(bundle: EvidenceBundle, step: StepRecord) -> StepRecord:
    """The user's own get_key right after ``step`` (before their next put or delete)."""
    for later in sorted(bundle.steps, key=lambda s: s.index):
        if later.index <= step.index or later.user != step.user or not is_own(later):
            continue
        if later.action in ("put_key", "delete_key"):
            break
        if later.action == "get_key" and performed(later):
            return later
    raise EvidenceMissing(f"no get_key by {step.user} after {step_name(step)} to see its effect")


def _reply(step: StepRecord) -> bytes:
    answered = [c for c in step.calls if c.status is not None]
    return reply_body(answered[-1]) if answered else b""


@check(
    id="ROT-05",
    title="Replace and delete are self-service through the API",
    severity=Severity.HIGH,
    threats=[],
    questions=[Question.Q4],
    remediation=(
        "Offer PUT (replace) and DELETE on the user's key in the API and UI, effective at once, "
        "without a support ticket."
    ),
)
def self_service(bundle: EvidenceBundle) -> Verdict:
    """A user who cannot replace or delete their own key must ask support (or wait) while a leaked key
    keeps working. A replacing put_key (the user already held another key canary) and a delete_key
    must both be answered 2xx, and the user's next get_key must show the change: after the replace a
    2xx whose body holds the new key's display suffix (the declared last N characters) and not the
    old one's; after the delete a 404 or 410. A refusal, or a get_key still showing the old or
    deleted key's suffix, is a FAIL. A 2xx get_key that shows no suffix at all (or when the profile
    declares no display suffix) cannot confirm the change: a WARN.
    """
    replaces = replacements(bundle, attempted=True)
    deletes = [
        s
        for s in bundle.steps_of("delete_key")
        if performed(s) and s.user and is_own(s) and held_key(bundle, s.user, s.index)
    ]
    if not replaces or not deletes:
        raise EvidenceMissing(
            f"needs a replacing put_key and a delete_key by users holding a key (found {len(replaces)} "
            f"replace(s), {len(deletes)} delete(s))"
        )
    n = bundle.target.display_suffix_len
    results: list[tuple[Status, EvidenceRef]] = []
    for replace in replaces:
        status = final_status(replace.step)
        if replace.step.outcome != "ok" or status is None or not 200 <= status < 300:
            results.append((Status.FAIL, step_ref(replace.step, f"replace refused ({status})")))
            continue
        get = _next_get(bundle, replace.step)
        body, get_status = _reply(get), final_status(get)
        new, old = (bundle.canaries.get(k).value[-n:].encode() for k in (replace.new, replace.old))
        if get_status is None or not 200 <= get_status < 300:
            results.append(
                (Status.FAIL, step_ref(get, f"after the replace get_key answered {get_status}"))
            )
        elif n and new in body and (old == new or old not in body):
            results.append((Status.PASS, step_ref(get, "shows the new key's suffix")))
        elif n and old in body:
            results.append((Status.FAIL, step_ref(get, "still shows the replaced key's suffix")))
        else:
            results.append(
                (Status.WARN, step_ref(get, "shows no key suffix: the change is unconfirmed"))
            )
    for delete in deletes:
        status = final_status(delete)
        if delete.outcome != "ok" or status is None or not 200 <= status < 300:
            results.append((Status.FAIL, step_ref(delete, f"delete refused ({status})")))
            continue
        get = _next_get(bundle, delete)
        get_status = final_status(get)
        deleted = bundle.canaries.get(str(held_key(bundle, str(delete.user), delete.index)))
        if get_status in (404, 410):
            results.append((Status.PASS, step_ref(get, f"answered {get_status} after the delete")))
        elif get_status is not None and 200 <= get_status < 300:
            shows = n and deleted.value[-n:].encode() in _reply(get)
            results.append(
                (Status.FAIL, step_ref(get, f"answered {get_status} still showing the deleted key"))
                if shows
                else (
                    Status.WARN,
                    step_ref(get, f"answered {get_status} after the delete, not 404"),
                )
            )
        else:
            results.append(
                (Status.FAIL, step_ref(get, f"after the delete get_key answered {get_status}"))
            )
    summary = f"{len(replaces)} replace(s) and {len(deletes)} delete(s) through the API"
    failed = [ref for status, ref in results if status == Status.FAIL]
    if failed:
        return Verdict.failed(f"not self-service: {summary}", failed)
    warned = [ref for status, ref in results if status == Status.WARN]
    if warned:
        return Verdict.warn(f"effect not confirmed by get_key: {summary}", warned)
    return Verdict.passed(f"{summary}, each answered 2xx and confirmed by the next get_key")

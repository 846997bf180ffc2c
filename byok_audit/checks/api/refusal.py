"""Judging one bad-input step: refused with a 4xx, nothing stored, nothing echoed, nothing used."""

from __future__ import annotations

from byok_audit.checks.api.history import current_key, next_own, previous_own, shows
from byok_audit.checks.base import EvidenceMissing
from byok_audit.checks.common import (
    exchange_ref,
    final_status,
    hit_detail,
    performed,
    reply_bytes,
    scanner,
    step_ref,
)
from byok_audit.models.evidence import EvidenceBundle, StepRecord
from byok_audit.models.finding import EvidenceRef


def bad_inputs(bundle: EvidenceBundle, *kinds: str) -> list[StepRecord]:
    """The bad_input steps of these kinds that ran; ERROR when there are none."""
    steps = [s for s in bundle.steps_of("bad_input") if s.params.get("kind") in kinds]
    ran = [s for s in steps if performed(s)]
    if not ran:
        why = f": {steps[0].note}" if steps and steps[0].note else ""
        raise EvidenceMissing(f"no bad_input step of kind {' / '.join(kinds)} ran{why}")
    return ran


def refusal_problems(bundle: EvidenceBundle, step: StepRecord) -> list[EvidenceRef]:
    """Everything wrong with how the target handled one bad-input step (empty: handled well).

    Refused means a 4xx: a 2xx accepted the input and a 5xx crashed on it. Nothing stored means the
    submitted secret (``data.canary``) never leaves the target afterwards, to any host in any
    encoding, and the user's next GET shows neither its suffix nor lost the previous key's suffix.
    Nothing echoed means the answer carries no part of the submitted secret.
    """
    status = final_status(step)
    if status is None:
        raise EvidenceMissing(f"step {step.index} ({step.params.get('kind')}) got no answer")
    kind = step.params.get("kind")
    problems: list[EvidenceRef] = []
    if not 400 <= status < 500:
        verdict = "accepted" if status < 400 else "crashed on"
        problems.append(step_ref(step, f"{verdict} {kind} with {status}, not a 4xx"))
    suffix_len = bundle.target.display_suffix_len
    user = step.user or ""
    later_get = next_own(bundle, step, user, "get_key")
    held = current_key(bundle, user, step.index)
    before = previous_own(bundle, step, user, "get_key")
    was_shown = held and before and later_get and shows(before, held, suffix_len)
    if held and later_get and was_shown and not shows(later_get, held, suffix_len):
        problems.append(
            step_ref(later_get, f"{held.label} no longer shows after the {kind} step {step.index}")
        )
    submitted = bundle.canaries.maybe(str(step.data.get("canary") or ""))
    if submitted is None:
        return problems
    if later_get and shows(later_get, submitted, suffix_len):
        problems.append(step_ref(later_get, f"the next GET shows {submitted.label}: it was stored"))
    used = scanner(bundle, canaries=[submitted], fragments=False, digests=False)
    problems += [
        exchange_ref(e, f"{submitted.label} sent out after it was submitted")
        for e in bundle.exchanges
        if e.started >= step.started and used.scan_request(e)
    ]
    echo = scanner(bundle, canaries=[submitted], fragments=True, digests=False)
    for call in step.calls:
        problems += [
            step_ref(step, f"the answer echoes it: {hit_detail(bundle, hit)}")
            for hit in echo.scan_bytes(reply_bytes(call), f"reply to step {step.index}")
        ]
    return problems

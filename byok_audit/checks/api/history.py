"""A user's key over the run, read from the steps: which key they hold, and what later steps show of it.

The API checks ask "was it stored?" and "is the victim's key intact?". Targets never return the key, but a
GET usually shows its last characters (the display suffix): that, and whether a later prompt still
reaches the provider, is what can be observed from outside.
"""

from __future__ import annotations

from byok_audit.checks.common import performed, reply_body
from byok_audit.models.canary import Canary
from byok_audit.models.evidence import EvidenceBundle, HttpCall, StepRecord

#: Steps that change which key a user holds.
_CHANGES = {"put_key", "delete_key"}


def own(step: StepRecord, user: str | None = None) -> bool:
    """A step a user performed on their own resources (not ``against`` someone else)."""
    return step.params.get("against") is None and (user is None or step.user == user)


def current_key(bundle: EvidenceBundle, user: str, before: int) -> Canary | None:
    """The key the user holds just before step ``before``: their last accepted own put_key, unless an
    accepted own delete_key came after it."""
    held: Canary | None = None
    for step in bundle.steps:
        if step.index >= before or not own(step, user) or step.outcome != "ok":
            continue
        if step.action == "put_key" and isinstance(step.params.get("key"), str):
            held = bundle.canaries.maybe(str(step.params["key"]))
        elif step.action == "delete_key":
            held = None
    return held


def next_own(
    bundle: EvidenceBundle, after: StepRecord, user: str, action: str
) -> StepRecord | None:
    """The user's next own step of ``action`` after ``after``, unless the user changed their key first."""
    for step in bundle.steps:
        if step.index <= after.index or not own(step, user) or not performed(step):
            continue
        if step.action == action:
            return step
        if step.action in _CHANGES:
            return None
    return None


def previous_own(
    bundle: EvidenceBundle, before: StepRecord, user: str, action: str
) -> StepRecord | None:
    """The user's last own step of ``action`` before ``before`` (that ran)."""
    earlier = [
        s
        for s in bundle.steps
        if s.index < before.index and own(s, user) and s.action == action and performed(s)
    ]
    return earlier[-1] if earlier else None


def response_text(call: HttpCall) -> str:
    """Header lines and the decoded body, as text."""
    head = "".join(f"{k}: {v}\n" for k, v in call.response_headers)
    return head + reply_body(call).decode("utf-8", errors="replace")


def shows(step: StepRecord, canary: Canary, suffix_len: int) -> bool:
    """True when a successful response of the step contains the key's display suffix."""
    if suffix_len <= 0:
        return False
    suffix = canary.value[-suffix_len:]
    return any(
        c.status is not None and 200 <= c.status < 300 and suffix in response_text(c)
        for c in step.calls
    )

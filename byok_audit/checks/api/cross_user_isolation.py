"""API-03: user B cannot read, replace, delete or use user A's key."""

from __future__ import annotations

import json

from byok_audit.checks.api.history import (
    current_key,
    next_own,
    own,
    previous_own,
    response_text,
    shows,
)
from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    exchange_ref,
    final_status,
    keys_sent,
    performed,
    plural,
    reply_body,
    step_ref,
)
from byok_audit.models.canary import Canary, CanaryRole
from byok_audit.models.evidence import EvidenceBundle, StepRecord
from byok_audit.models.finding import EvidenceRef, Severity, Threat

#: Fields of a key-metadata response that identify the stored key (fingerprint, last4, hint...).
_IDENTIFYING = ("finger", "last", "suffix", "hint", "mask", "preview", "hash", "redacted")


class _Unverifiable(Exception):
    """One attack's outcome cannot be judged from the recorded steps."""


def _identifiers(step: StepRecord | None) -> set[str]:
    """Identifying metadata values of a key as the owner's own GET returned them."""
    if step is None:
        return set()
    found: set[str] = set()
    for call in step.calls:
        try:
            body = json.loads(reply_body(call))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        stack = [body]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                for key, value in item.items():
                    if (
                        isinstance(value, str)
                        and len(value) >= 4
                        and any(word in key.lower() for word in _IDENTIFYING)
                    ):
                        found.add(value)
                    stack.append(value)
            elif isinstance(item, list):
                stack.extend(item)
    return found


def _victim_keys(bundle: EvidenceBundle, victim: str) -> list[Canary]:
    return [c for c in bundle.canaries.of_role(CanaryRole.KEY) if c.user == victim]


def _read(bundle: EvidenceBundle, step: StepRecord, victim: str) -> str | None:
    """B's GET must show nothing of A's key: not its suffix, not A's fingerprint or hint."""
    held = current_key(bundle, victim, step.index)
    suffix_len = bundle.target.display_suffix_len
    if held is not None and shows(step, held, suffix_len):
        return f"showed the last {suffix_len} characters of {held.label}"
    mine = _identifiers(previous_own(bundle, step, victim, "get_key"))
    for call in step.calls:
        if call.status is not None and 200 <= call.status < 300:
            leaked = [v for v in mine if v in response_text(call)]
            if leaked:
                return f"returned {victim}'s key metadata ({len(leaked)} identifying value(s))"
    return None


def _intact(bundle: EvidenceBundle, step: StepRecord, victim: str, held: Canary) -> str | None:
    """After B's delete or put, A's next own GET or prompt must still find A's key."""
    suffix_len = bundle.target.display_suffix_len
    later_get = next_own(bundle, step, victim, "get_key")
    later_prompt = next_own(bundle, step, victim, "prompt")
    if later_prompt is not None and later_prompt.outcome == "ok":
        sent = {c.id for e in bundle.exchanges_of(later_prompt) for c in keys_sent(e, bundle)}
        if held.id in sent:
            return None
        if sent:
            return f"{victim}'s next prompt (step {later_prompt.index}) used another key"
    if later_get is not None and suffix_len > 0:
        if shows(later_get, held, suffix_len):
            return None
        return f"{victim}'s next GET (step {later_get.index}) no longer shows {held.label}"
    if later_prompt is not None:
        return f"{victim}'s next prompt (step {later_prompt.index}) was {later_prompt.outcome}"
    raise _Unverifiable(
        f"no later own get_key or prompt by {victim} to see whether the key survived"
    )


def _replaced(bundle: EvidenceBundle, step: StepRecord, victim: str) -> str | None:
    """B's put_key against A must not make B's key A's key."""
    planted = bundle.canaries.maybe(str(step.params.get("key")))
    if planted is None:
        raise _Unverifiable("the put_key step names no known key canary")
    later_prompt = next_own(bundle, step, victim, "prompt")
    if later_prompt is not None:
        for exchange in bundle.exchanges_of(later_prompt):
            if planted in keys_sent(exchange, bundle):
                return f"{victim}'s next prompt (step {later_prompt.index}) used {planted.label}"
    later_get = next_own(bundle, step, victim, "get_key")
    if later_get is not None and shows(later_get, planted, bundle.target.display_suffix_len):
        return f"{victim}'s next GET (step {later_get.index}) shows {planted.label}"
    if later_prompt is None and later_get is None:
        raise _Unverifiable(f"no later own get_key or prompt by {victim}")
    held = current_key(bundle, victim, step.index)
    return _intact(bundle, step, victim, held) if held is not None else None


def _used(bundle: EvidenceBundle, step: StepRecord, victim: str) -> str | None:
    """B's prompt against A must never reach the provider with one of A's keys, and a B without a key
    of their own must get no answer at all: an answer was billed to somebody's key, wherever (and
    whenever) its upstream call went."""
    theirs = {c.id for c in _victim_keys(bundle, victim)}
    for exchange in bundle.exchanges_of(step):
        for key in keys_sent(exchange, bundle):
            if key.id in theirs:
                return f"exchange {exchange.id} to {exchange.host} carried {key.label}"
    attacker = step.user or "the attacker"
    status = final_status(step)
    keyless = current_key(bundle, attacker, step.index) is None
    if keyless and status is not None and 200 <= status < 300:
        return f"{attacker} holds no key of their own, yet the prompt was answered {status}"
    return None


def _judge(bundle: EvidenceBundle, step: StepRecord, victim: str) -> str | None:
    if step.action == "get_key":
        return _read(bundle, step, victim)
    if step.action == "prompt":
        return _used(bundle, step, victim)
    if step.action == "put_key":
        return _replaced(bundle, step, victim)
    if step.action == "delete_key":
        held = current_key(bundle, victim, step.index)
        if held is None:
            raise _Unverifiable(f"{victim} held no key when the delete was attempted")
        return _intact(bundle, step, victim, held)
    raise _Unverifiable(f"no cross-user rule for action {step.action!r}")


@check(
    id="API-03",
    title="User B cannot read, replace, delete or use user A's key",
    severity=Severity.CRITICAL,
    threats=[Threat.T2],
    questions=[],
    remediation=(
        "Scope every key operation to the authenticated user (never to an id from the request), and "
        "derive the key slot from the session, so another user's id or token addresses nothing."
    ),
)
def cross_user_isolation(bundle: EvidenceBundle) -> Verdict:
    """Per-user keys mean nothing if one user can reach another's (an IDOR on the key endpoints).
    Steps with ``against`` (user B acting on victim A) are judged from what A observes afterwards:
    B's GET must not show A's key suffix nor any identifying value (fingerprint, last4, hint) that A's
    own earlier GET returned; after B's DELETE or PUT, A's next own prompt must still reach the
    provider with A's key (or A's next GET still show A's suffix) and never with B's planted key;
    B's prompt must never reach the provider with one of A's keys, and when B holds no key of their
    own a 2xx answer to it is a FAIL by itself (someone's key paid for it, whether or not its upstream
    call was seen in B's step). An attack whose outcome no later step can show is an ERROR, never a
    PASS.
    """
    attacks = [s for s in bundle.steps if not own(s) and performed(s)]
    if not attacks:
        raise EvidenceMissing("no step acted against another user (params.against)")
    failures: list[EvidenceRef] = []
    unverifiable: list[str] = []
    for step in attacks:
        victim = str(step.params["against"])
        try:
            problem = _judge(bundle, step, victim)
        except _Unverifiable as why:
            unverifiable.append(f"step {step.index} ({step.action}): {why}")
            continue
        if problem is not None:
            failures.append(step_ref(step, problem))
            failures.extend(
                exchange_ref(e, "upstream call during the attack")
                for e in bundle.exchanges_of(step)
            )
    actions = ", ".join(sorted({s.action for s in attacks}))
    if failures:
        return Verdict.failed(
            f"{sum(1 for f in failures if f.kind == 'step')} of {plural(len(attacks), 'cross-user attempt')} "
            f"reached the victim's key",
            failures,
        )
    if unverifiable:
        raise EvidenceMissing("; ".join(unverifiable))
    return Verdict.passed(
        f"{plural(len(attacks), 'cross-user attempt')} ({actions}) showed, changed, removed and used nothing "
        "of the victim's key"
    )

"""RTE-03: one provider request per user request."""

from __future__ import annotations

import json
from itertools import pairwise

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    capped,
    decoded_request_body,
    exchange_ref,
    generation_calls,
    performed_steps,
    plural,
    step_numbers,
    step_ref,
    succeeded,
)
from byok_audit.models.evidence import EvidenceBundle, Exchange
from byok_audit.models.finding import EvidenceRef, Question, Severity, Threat

#: Statuses the official SDKs retry (408, 409, 429, 5xx; 529 is Anthropic's "overloaded").
_RETRYABLE = {408, 409, 429}


def _failed_retriably(exchange: Exchange) -> bool:
    status = exchange.response_status
    return exchange.error is not None or status is None or status in _RETRYABLE or status >= 500


def _retry_of(previous: Exchange, current: Exchange) -> bool:
    """``current`` re-sends ``previous`` after it failed: the failure (its answer or its error) had
    arrived before ``current`` started, so parallel "hedged" duplicates never qualify."""
    ended_first = previous.ended is not None and previous.ended <= current.started
    return ended_first and _failed_retriably(previous) and _same_body(previous, current)


def _same_body(a: Exchange, b: Exchange) -> bool:
    body_a, body_b = decoded_request_body(a), decoded_request_body(b)
    if body_a == body_b:
        return True
    try:
        return json.loads(body_a) == json.loads(body_b)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False


@check(
    id="RTE-03",
    title="One provider request per user request",
    severity=Severity.MEDIUM,
    threats=[Threat.T2],
    questions=[Question.Q2],
    remediation=(
        "Send exactly one model request per user request; retry only after a 429/5xx/timeout, "
        "with the same body, and never fan a prompt out to extra calls the user did not ask for."
    ),
)
def one_request_per_prompt(bundle: EvidenceBundle) -> Verdict:
    """A prompt that silently becomes two billed model calls spends the user's money (and may send the
    prompt somewhere else). For every prompt step, the generation requests to provider hosts (messages,
    chat completions, responses; not count_tokens or model lists) are taken in time order. A request is
    a retry, and not counted, when the attempt right before it failed retriably (408/409/429/5xx/529,
    a timeout or no answer), that failure had arrived before the retry started (parallel "hedged"
    duplicates are counted), and it re-sends the same body (byte-equal or JSON-equal). More than one
    counted request for one prompt step is a FAIL. Every call that belongs to the step counts, also one
    fired after the reply (a title or summary task bills the user too). A prompt step answered 2xx
    that made no generation request at all is a WARN naming it: it was served from a cache, or its
    call went around the proxy (sealed egress would tell).
    """
    steps = performed_steps(bundle, "prompt")
    evidence: list[EvidenceRef] = []
    retried: list[EvidenceRef] = []
    unseen = []
    total = failing = examined = 0
    for step in steps:
        calls = generation_calls(bundle, step)
        if not calls:
            if succeeded(step):
                unseen.append(step)
            continue
        examined += 1
        counted = [calls[0]]
        for previous, current in pairwise(calls):
            if _retry_of(previous, current):
                why = previous.error or f"status {previous.response_status}"
                retried.append(exchange_ref(current, f"retry after {why}, not counted"))
            else:
                counted.append(current)
        total += len(calls)
        if len(counted) > 1:
            failing += 1
            evidence.append(
                step_ref(step, f"{len(counted)} provider requests for one user request")
            )
            evidence.extend(
                exchange_ref(e, f"status {e.response_status}, counted") for e in counted
            )
    no_call = (
        f"{plural(len(unseen), 'prompt step')} answered 2xx with no provider request at all "
        f"({step_numbers(unseen)})"
    )
    unseen_refs = [step_ref(s, "answered 2xx, no provider request seen") for s in unseen]
    if not examined:
        why = f"; {no_call}" if unseen else ""
        raise EvidenceMissing(f"no prompt step reached a provider host; nothing to count{why}")
    retries = f"{len(retried)} retr{'y' if len(retried) == 1 else 'ies'} after a failed attempt"
    if failing:
        return Verdict.failed(
            f"{failing} of {plural(examined, 'prompt step')} made more than one provider request "
            f"({retries} not counted)",
            capped(evidence + retried + unseen_refs),
        )
    counted_note = f"{total} generation requests examined, {retries} not counted"
    if unseen:
        return Verdict.warn(
            f"each of {plural(examined, 'prompt step')} that reached the provider made exactly one "
            f"request ({counted_note}), but {no_call}: served from a cache, or the "
            "call went around the proxy (sealed egress would tell)",
            unseen_refs + retried,
        )
    return Verdict.passed(
        f"each of {plural(examined, 'prompt step')} made exactly one provider request ({counted_note})",
        retried,
    )

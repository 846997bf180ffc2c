"""USE-04: max_tokens is not inflated on the way upstream."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    all_of,
    asked_and_sent,
    capped,
    exchange_ref,
    plural,
)
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Severity, Threat

#: Anthropic and OpenAI chat use ``max_tokens``; newer OpenAI models ``max_completion_tokens``; the
#: Responses API ``max_output_tokens``.
LIMIT_FIELDS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _limit(body: dict[str, object]) -> int | None:
    for field in LIMIT_FIELDS:
        value = _integer(body.get(field))
        if value is not None:
            return value
    return None


@check(
    id="USE-04",
    title="Parameter fidelity: max_tokens not inflated",
    severity=Severity.MEDIUM,
    threats=[Threat.T2],
    questions=[],
    remediation=(
        "Forward the user's max_tokens unchanged (or lower it); never raise it or drop it, which "
        "lets the provider bill up to the model's maximum."
    ),
)
def max_tokens_fidelity(bundle: EvidenceBundle) -> Verdict:
    """The output limit bounds what one call can cost. For every prompt step with an integer
    ``max_tokens`` parameter, each generation request it caused to a provider host is read as JSON and
    its limit (``max_tokens``, ``max_completion_tokens`` or ``max_output_tokens``) compared with the
    user's. Equal is expected and lower passes (noted); higher is a FAIL, and so is no limit at all
    (the provider's default is then the model's maximum). A body that is not JSON is a WARN. Every call
    that belongs to the step is compared, also one fired after the reply. A prompt step answered 2xx
    that made no generation request (or asked no max_tokens) could not be compared: a WARN naming it.
    """
    pairs, uncompared = asked_and_sent(bundle, _integer, "max_tokens")
    inflated: list[EvidenceRef] = []
    lowered: list[EvidenceRef] = []
    unreadable: list[EvidenceRef] = []
    compared_steps: set[int] = set()
    compared = 0
    for step, asked, exchange, body in pairs:
        compared_steps.add(step.index)
        if body is None:
            unreadable.append(exchange_ref(exchange, "request body is not a JSON object"))
            continue
        compared += 1
        sent = _limit(body)
        if sent is None:
            inflated.append(
                exchange_ref(exchange, f"step {step.index} asked {asked}, request has no limit")
            )
        elif sent > asked:
            inflated.append(exchange_ref(exchange, f"step {step.index} asked {asked}, sent {sent}"))
        elif sent < asked:
            lowered.append(exchange_ref(exchange, f"step {step.index} asked {asked}, sent {sent}"))
    if not compared and not unreadable:
        raise EvidenceMissing("no prompt step with max_tokens reached a provider host")
    if inflated:
        return Verdict.failed(
            f"{len(inflated)} of {plural(compared, 'upstream request')} raised or dropped the user's max_tokens",
            capped(inflated + unreadable + uncompared.refs()),
        )
    note = f" ({len(lowered)} lowered it)" if lowered else ""
    kept = f"{plural(compared, 'upstream request')} of {plural(len(compared_steps), 'prompt step')} kept max_tokens{note}"
    problems = [f"{len(unreadable)} could not be read"] if unreadable else []
    problems += [p for p in [uncompared.problem()] if p]
    if problems:
        return Verdict.warn(
            f"{kept}; {'; '.join(problems)}", capped(unreadable + uncompared.refs())
        )
    return Verdict.passed(
        f"{all_of(compared, 'upstream generation request')} kept the user's max_tokens or lower{note}",
        lowered,
    )

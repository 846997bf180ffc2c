"""USE-03: the upstream model is the model the user chose."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    all_of,
    capped,
    exchange_ref,
    generation_calls,
    performed_steps,
    plural,
    request_json,
    same_model,
    step_numbers,
    step_ref,
    succeeded,
)
from byok_audit.models.evidence import EvidenceBundle, StepRecord
from byok_audit.models.finding import EvidenceRef, Severity, Threat


@check(
    id="USE-03",
    title="Model fidelity: the upstream model is the model the user chose",
    severity=Severity.HIGH,
    threats=[Threat.T2],
    questions=[],
    remediation=(
        "Forward the model the user selected; never substitute a cheaper or a costlier model on the "
        "user's key without asking."
    ),
)
def model_fidelity(bundle: EvidenceBundle) -> Verdict:
    """A platform that swaps the chosen model spends the user's key on something they did not ask for
    (a costlier model bills more; a cheaper one sells them less). For every prompt step with a ``model``
    parameter, each generation request it caused to a provider host is read as JSON and its ``model``
    compared with the chosen one. Equal passes; so does the alias resolved to a dated snapshot
    (``claude-sonnet-4-5`` → ``claude-sonnet-4-5-20250929``). Any other model is a FAIL; a request whose
    model cannot be read (not JSON, no ``model`` field) is a WARN. Every call that belongs to the step
    is compared, also one fired after the reply (a title task on a costlier model bills the user too).
    A prompt step answered 2xx that made no generation request (or named no model) could not be
    compared: a WARN naming it; the summary lists only the models actually compared.
    """
    mismatched: list[EvidenceRef] = []
    unreadable: list[EvidenceRef] = []
    uncompared: list[tuple[StepRecord, str]] = []
    models: set[str] = set()
    compared = 0
    for step in performed_steps(bundle, "prompt"):
        chosen = step.params.get("model")
        calls = generation_calls(bundle, step)
        if not isinstance(chosen, str) or not calls:
            if succeeded(step):
                why = "no generation request reached a provider" if not calls else "no model chosen"
                uncompared.append((step, why))
            continue
        for exchange in calls:
            body = request_json(exchange)
            sent = body.get("model") if body else None
            if not isinstance(sent, str):
                unreadable.append(exchange_ref(exchange, "no JSON 'model' field in the request"))
                continue
            compared += 1
            models.add(chosen)
            if not same_model(chosen, sent):
                mismatched.append(
                    exchange_ref(exchange, f"step {step.index} chose {chosen!r}, sent {sent!r}")
                )
    if not compared and not unreadable:
        raise EvidenceMissing("no prompt step with a chosen model reached a provider host")
    not_compared = [step_ref(s, f"answered 2xx, not compared: {why}") for s, why in uncompared]
    if mismatched:
        return Verdict.failed(
            f"{len(mismatched)} of {plural(compared, 'upstream request')} used another model than the user chose",
            capped(mismatched + unreadable + not_compared),
        )
    problems = []
    if unreadable:
        problems.append(f"the model of {len(unreadable)} could not be read")
    if uncompared:
        problems.append(
            f"{plural(len(uncompared), 'successful prompt step')} could not be compared "
            f"({step_numbers(s for s, _ in uncompared)})"
        )
    used = f"used the model the user chose ({', '.join(sorted(models))})" if models else ""
    if problems:
        return Verdict.warn(
            f"{plural(compared, 'upstream request')} {used or 'compared'}; {'; '.join(problems)}",
            capped(unreadable + not_compared),
        )
    return Verdict.passed(f"{all_of(compared, 'upstream generation request')} {used}")

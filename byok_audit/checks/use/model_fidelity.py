"""USE-03: the upstream model is the model the user chose."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    all_of,
    asked_and_sent,
    capped,
    exchange_ref,
    plural,
    same_model,
)
from byok_audit.models.evidence import EvidenceBundle
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
    pairs, uncompared = asked_and_sent(bundle, _model, "model")
    mismatched: list[EvidenceRef] = []
    unreadable: list[EvidenceRef] = []
    models: set[str] = set()
    compared = 0
    for step, chosen, exchange, body in pairs:
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
    if mismatched:
        return Verdict.failed(
            f"{len(mismatched)} of {plural(compared, 'upstream request')} used another model than the user chose",
            capped(mismatched + unreadable + uncompared.refs()),
        )
    problems = [f"the model of {len(unreadable)} could not be read"] if unreadable else []
    problems += [p for p in [uncompared.problem()] if p]
    used = f"used the model the user chose ({', '.join(sorted(models))})" if models else ""
    if problems:
        return Verdict.warn(
            f"{plural(compared, 'upstream request')} {used or 'compared'}; {'; '.join(problems)}",
            capped(unreadable + uncompared.refs()),
        )
    return Verdict.passed(f"{all_of(compared, 'upstream generation request')} {used}")


def _model(value: object) -> str | None:
    return value if isinstance(value, str) else None

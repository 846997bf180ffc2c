"""USE-03: the upstream model is the model the user chose."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    all_of,
    exchange_ref,
    is_generation,
    performed_steps,
    plural,
    request_json,
    same_model,
    upstream_calls,
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
    model cannot be read (not JSON, no ``model`` field) is a WARN.
    """
    steps = [s for s in performed_steps(bundle, "prompt") if isinstance(s.params.get("model"), str)]
    mismatched: list[EvidenceRef] = []
    unreadable: list[EvidenceRef] = []
    compared = 0
    for step in steps:
        chosen = str(step.params["model"])
        for exchange in upstream_calls(bundle, step):
            if not is_generation(exchange):
                continue
            body = request_json(exchange)
            sent = body.get("model") if body else None
            if not isinstance(sent, str):
                unreadable.append(exchange_ref(exchange, "no JSON 'model' field in the request"))
            elif same_model(chosen, sent):
                compared += 1
            else:
                compared += 1
                mismatched.append(
                    exchange_ref(exchange, f"step {step.index} chose {chosen!r}, sent {sent!r}")
                )
    if not compared and not unreadable:
        raise EvidenceMissing("no prompt step with a chosen model reached a provider host")
    if mismatched:
        return Verdict.failed(
            f"{len(mismatched)} of {plural(compared, 'upstream request')} used another model than the user chose",
            mismatched + unreadable,
        )
    if unreadable:
        return Verdict.warn(
            f"{plural(compared, 'upstream request')} used the chosen model; the model of "
            f"{len(unreadable)} could not be read",
            unreadable,
        )
    models = sorted({str(s.params["model"]) for s in steps})
    return Verdict.passed(
        f"{all_of(compared, 'upstream generation request')} used the model the user chose "
        f"({', '.join(models)})"
    )

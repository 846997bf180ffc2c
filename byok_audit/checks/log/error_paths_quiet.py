"""LOG-05: error paths leak nothing either."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    KEY_ROLES,
    TEXT_ROLES,
    capped,
    hit_detail,
    performed,
    plural,
    reply_bytes,
    scanner,
)
from byok_audit.checks.log.sinks import scan_sinks
from byok_audit.models.canary import CanaryRole
from byok_audit.models.evidence import EvidenceBundle, StepRecord
from byok_audit.models.finding import EvidenceRef, Question, Severity, Threat


def error_kind(bundle: EvidenceBundle, step: StepRecord) -> str | None:
    """What made a step an error path: an injected provider fault, or deliberately bad client input."""
    if not performed(step):
        return None
    if step.action == "bad_input":
        return f"bad input {step.params.get('kind', '?')}"
    if step.action == "prompt":
        fault = step.data.get("fault") or next(
            (e.fault for e in bundle.exchanges_of(step) if e.fault), None
        )
        return f"provider fault {fault}" if fault else None
    return None


@check(
    id="LOG-05",
    title="Error paths leak nothing either",
    severity=Severity.HIGH,
    threats=[Threat.T3],
    questions=[Question.Q3],
    remediation=(
        "Handle provider errors and validation errors without logging or returning the request, its "
        "headers or the provider's raw error (FastAPI: a custom 422 handler; pydantic: "
        "hide_input_in_errors=True; loguru: diagnose=False)."
    ),
)
def error_paths_quiet(bundle: EvidenceBundle) -> Verdict:
    """Debug dumps live on error paths: exception handlers that log the request, validation errors that
    echo the input, retry loggers that print headers. Error-path steps are prompts made while a
    provider fault (401/429/500/529/timeout/malformed) was armed and bad-input steps. Log lines cannot
    be attributed to a time window, so the whole run's log sources and non-provider requests are
    scanned for every canary (keys with fragments and digests, prompt, response); in addition the
    target's answers to those steps (status, headers and decoded body) must echo no canary, except
    that a prompt the target still answered 2xx (a retry got past the fault) may carry the model's
    answer, the response canary. Any hit is a FAIL. A run with no error-path step, or a declared log source that was not found, is an ERROR.
    """
    paths = [(s, kind) for s in bundle.steps if (kind := error_kind(bundle, s))]
    if not paths:
        raise EvidenceMissing(
            "no error-path step ran (no prompt under a provider fault, no bad input)"
        )
    scan = scanner(bundle, (*KEY_ROLES, *TEXT_ROLES), fragments=True, digests=True)
    # A prompt the target still answered 2xx (it retried past the fault) carries the model's answer
    # by design; in that reply only a key or the prompt is an echo.
    delivered = scanner(bundle, (*KEY_ROLES, CanaryRole.PROMPT), fragments=True, digests=True)
    echoes: list[EvidenceRef] = []
    for step, kind in paths:
        for number, call in enumerate(step.calls):
            source = f"reply {number} to step {step.index} ({kind})"
            answered = step.action == "prompt" and 200 <= (call.status or 0) < 300
            for hit in (delivered if answered else scan).scan_bytes(reply_bytes(call), source):
                echoes.append(
                    EvidenceRef(
                        kind="api",
                        ref=f"step {step.index}: {call.method} {call.url} → {call.status}",
                        detail=hit_detail(bundle, hit),
                    )
                )
    sinks = scan_sinks(bundle, scan)
    kinds = sorted({kind for _, kind in paths})
    covered = f"{plural(len(paths), 'error-path step')} ({', '.join(kinds)})"
    if echoes or sinks.leaks:
        return Verdict.failed(
            f"{covered}: {len(echoes)} canaries echoed in error replies, {len(sinks.leaks)} in logs "
            f"or third-party requests ({sinks.examined()})",
            capped(echoes + sinks.leaks),
        )
    return Verdict.passed(
        f"{covered}: error replies echo nothing; {sinks.examined()}: no canary of any kind"
    )

"""API-04: malformed keys are rejected with a 4xx and nothing is stored."""

from __future__ import annotations

from byok_audit.checks.api.refusal import bad_inputs, refusal_problems
from byok_audit.checks.base import Verdict, check
from byok_audit.checks.common import all_of, capped, final_status, plural
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import Severity

KINDS = ("malformed_key", "invalid_json", "oversized_body")


@check(
    id="API-04",
    title="Malformed keys are rejected with a 4xx and nothing is stored",
    severity=Severity.LOW,
    threats=[],
    questions=[],
    remediation=(
        "Validate the key's shape (prefix, length, alphabet) and the request body before storing "
        "anything; answer 400/413/422 without echoing the submitted value."
    ),
)
def malformed_key_rejected(bundle: EvidenceBundle) -> Verdict:
    """A platform that stores whatever it is given keeps garbage (or a mistyped key) it will later
    send upstream, and one that crashes (5xx) or echoes the value back leaks it to logs and proxies.
    For every bad_input step of kind malformed_key, invalid_json or oversized_body: the answer must be
    a 4xx (2xx or 5xx is a FAIL); the submitted secret, when the step had one (``data.canary``), must
    never leave the target afterwards, must not show in the user's next GET, and must not be echoed in
    the answer (any encoding, any fragment beyond the display suffix); and the user's previous key
    must still show in that next GET. Needs at least one such step (else ERROR).
    """
    steps = bad_inputs(bundle, *KINDS)
    problems = [p for s in steps for p in refusal_problems(bundle, s)]
    if problems:
        return Verdict.failed(
            f"{plural(len(problems), 'problem')} handling {plural(len(steps), 'malformed input')}",
            capped(problems),
        )
    answered = ", ".join(f"{s.params.get('kind')} → {final_status(s)}" for s in steps)
    return Verdict.passed(
        f"{all_of(len(steps), 'malformed input')} refused, nothing stored: {answered}"
    )

"""API-05: subscription OAuth tokens are refused."""

from __future__ import annotations

import re

from byok_audit.checks.api.refusal import bad_inputs, refusal_problems
from byok_audit.checks.base import Verdict, check
from byok_audit.checks.common import all_of, capped, final_status, plural, reply_body, step_ref
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import Severity

_EXPLAINS = re.compile(r"oauth|subscription|oat01|claude\.ai|pro/max|console|terms", re.IGNORECASE)


@check(
    id="API-05",
    title="Subscription OAuth tokens (sk-ant-oat01-) are refused",
    severity=Severity.MEDIUM,
    threats=[],
    questions=[],
    remediation=(
        "Reject sk-ant-oat01- tokens with a 4xx that says subscription OAuth tokens cannot be used "
        "by third-party services and that a Console API key (sk-ant-api03-) is needed."
    ),
)
def oauth_token_refused(bundle: EvidenceBundle) -> Verdict:
    """Anthropic's terms forbid third parties from using a user's Claude subscription OAuth token; a
    platform that takes one routes a consumer subscription through its servers. Every bad_input step of
    kind oauth_token must be answered with a 4xx, the token (``data.canary``) must never leave the
    target (to any host, in any encoding) nor show in the user's next GET nor be echoed back. A refusal
    whose message does not say why (no mention of OAuth, subscription, Console or terms) is a WARN:
    users need to learn to paste an API key instead. Needs at least one such step (else ERROR).
    """
    steps = bad_inputs(bundle, "oauth_token")
    problems = [p for s in steps for p in refusal_problems(bundle, s)]
    if problems:
        return Verdict.failed(
            f"{plural(len(problems), 'problem')} refusing {plural(len(steps), 'OAuth token')}",
            capped(problems),
        )
    silent = [
        s
        for s in steps
        if not any(_EXPLAINS.search(reply_body(c).decode(errors="replace")) for c in s.calls)
    ]
    if silent:
        return Verdict.warn(
            f"OAuth tokens refused, but {len(silent)} refusals do not say why",
            [
                step_ref(s, f"answered {final_status(s)} without naming OAuth tokens")
                for s in silent
            ],
        )
    return Verdict.passed(
        f"{all_of(len(steps), 'OAuth token')} refused with an explanation "
        f"({', '.join(str(final_status(s)) for s in steps)}), never sent upstream or stored"
    )

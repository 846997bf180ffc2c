"""LOG-01: no prompt text in logs, stdout, stderr or watched files."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import capped, performed_steps, plural, reached_provider, scanner
from byok_audit.checks.log.sinks import scan_sinks
from byok_audit.models.canary import CanaryRole
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import Question, Severity, Threat


@check(
    id="LOG-01",
    title="No prompt text in logs, stdout, stderr or watched files",
    severity=Severity.CRITICAL,
    threats=[Threat.T3],
    questions=[Question.Q3],
    remediation=(
        "Log request metadata only: keep SDK and HTTP-client debug logging off in production and "
        "never log request bodies, message lists or exception objects that embed them."
    ),
)
def no_prompt_in_logs(bundle: EvidenceBundle) -> Verdict:
    """Logs are copied to places with far weaker protection than the database (log shippers, support
    tickets, CI output). Every captured log file, stdout, stderr and watched file, and every request to
    a non-provider host, is scanned for the prompt canary in every encoding (JSON escapes, base64, hex,
    UTF-16, percent-encoding, compressed bodies). A hit is a FAIL, reported as file:line or exchange.
    The prompt must have reached the provider at least once (else nothing was tested: ERROR), and
    every log source the profile declared must have been found (a missing one is an ERROR naming it).
    """
    performed_steps(bundle, "prompt")
    scan = scanner(bundle, (CanaryRole.PROMPT,), fragments=False, digests=False)
    if not reached_provider(bundle, scan):
        raise EvidenceMissing("the prompt canary never reached a provider host: no prompt was sent")
    sinks = scan_sinks(bundle, scan)
    if sinks.leaks:
        return Verdict.failed(
            f"prompt text found {plural(len(sinks.leaks), 'time')} ({sinks.examined()})",
            capped(sinks.leaks),
        )
    return Verdict.passed(f"{sinks.examined()}: no prompt text")

"""LOG-03: no key, in any encoding or in part, in logs."""

from __future__ import annotations

from byok_audit.checks.base import Verdict, check
from byok_audit.checks.common import KEY_ROLES, capped, performed_steps, plural, scanner
from byok_audit.checks.log.sinks import scan_sinks
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import Question, Severity, Threat


@check(
    id="LOG-03",
    title="No key (any encoding, fragments) in logs",
    severity=Severity.CRITICAL,
    threats=[Threat.T3],
    questions=[Question.Q3],
    remediation=(
        "Never log headers, request objects, URLs with query strings or validation errors that echo "
        "input; mask keys to the display suffix everywhere and add a redacting log filter."
    ),
)
def no_key_in_logs(bundle: EvidenceBundle) -> Verdict:
    """A key in a log is a key for whoever reads the log. Every captured log source and every request
    to a non-provider host is scanned for every key and OAuth-token canary: raw and in every encoding,
    as any fragment of eight or more characters other than the declared display suffix on its own, and
    as an unsalted sha256/sha1/md5 digest. A hit is a FAIL. At least one put_key step must have run
    (else no key was handed over: ERROR), and every log source the profile declared must have been found
    (a missing one is an ERROR naming it; empty ones pass, the summary saying how few bytes were read).
    """
    performed_steps(bundle, "put_key")
    sinks = scan_sinks(bundle, scanner(bundle, KEY_ROLES, fragments=True, digests=True))
    if sinks.leaks:
        return Verdict.failed(
            f"key material found {plural(len(sinks.leaks), 'time')} ({sinks.examined()})",
            capped(sinks.leaks),
        )
    return Verdict.passed(f"{sinks.examined()}: no key, key fragment or key digest")

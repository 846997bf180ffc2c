"""RTE-06: prompt and response text go to no non-provider host."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    TEXT_ROLES,
    capped,
    exchange_ref,
    hit_detail,
    hosts_of,
    non_provider,
    opaque,
    opaque_refs,
    performed_steps,
    plural,
    reached_provider,
    scanner,
)
from byok_audit.models.canary import CanaryRole
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Question, Severity, Threat


@check(
    id="RTE-06",
    title="Prompt and response text go to no non-provider host",
    severity=Severity.CRITICAL,
    threats=[Threat.T3],
    questions=[Question.Q3],
    remediation=(
        "Send the user's prompts and the model's answers only to the provider; configure tracing, "
        "analytics and error reporting to carry metadata, never message bodies."
    ),
)
def no_text_to_third_party(bundle: EvidenceBundle) -> Verdict:
    """Prompts and answers are the user's data; any other recipient (a tracing SaaS, an analytics
    pipeline, a router) is a leak. Every request to a host that is not a declared provider (by CONNECT
    host, SNI and Host header) is scanned for the prompt and response canaries in every encoding
    (base64, JSON escapes, UTF-16, compressed bodies...), with the messages it sent on WebSocket and raw
    TCP/UDP connections. A hit is a FAIL; non-provider connections whose content was not observed (TLS
    refused, a tunnel without a request, blocked, unreadable raw TCP/UDP) make a WARN. The prompt canary must be seen reaching a provider at least once,
    or the scenario did not send it: ERROR.
    """
    performed_steps(bundle, "prompt")
    prompts = scanner(bundle, (CanaryRole.PROMPT,), fragments=False, digests=False)
    if not reached_provider(bundle, prompts):
        raise EvidenceMissing("the prompt canary never reached a provider host: no prompt was sent")
    scan = scanner(bundle, TEXT_ROLES, fragments=False, digests=False)
    others = non_provider(bundle)
    leaks: list[EvidenceRef] = []
    leaking = []
    for exchange in others:
        hits = scan.scan_request(exchange)
        if hits:
            leaking.append(exchange)
            leaks.extend(exchange_ref(exchange, hit_detail(bundle, hit)) for hit in hits)
    if leaks:
        return Verdict.failed(
            f"prompt or response text went to {', '.join(hosts_of(leaking))} ({plural(len(leaks), 'hit')})",
            capped(leaks),
        )
    seen = f"scanned {plural(len(others), 'exchange')} to {plural(len(hosts_of(others)), 'non-provider host')}"
    unread = opaque(bundle)
    if unread:
        return Verdict.warn(
            f"{seen}: no prompt or response text, but content not observed on "
            f"{plural(len(unread), 'connection')} to {', '.join(hosts_of(unread))}",
            opaque_refs(unread),
        )
    names = f" ({', '.join(hosts_of(others))})" if others else ""
    return Verdict.passed(f"{seen}{names}: no prompt or response text in any of them")

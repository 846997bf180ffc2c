"""LOG-04: no third-party telemetry host receives request data."""

from __future__ import annotations

from collections import Counter

from byok_audit.checks.base import Verdict, check
from byok_audit.checks.common import (
    KEY_ROLES,
    TEXT_ROLES,
    all_of,
    capped,
    exchange_ref,
    hit_detail,
    hosts_of,
    leaked,
    non_provider,
    opaque,
    opaque_refs,
    performed_steps,
    plural,
    scanner,
    step_owners,
)
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Question, Severity, Threat


@check(
    id="LOG-04",
    title="No third-party telemetry host receives request data",
    severity=Severity.HIGH,
    threats=[Threat.T3],
    questions=[Question.Q3],
    remediation=(
        "Configure error reporting and tracing to send no request bodies, headers, local variables "
        "or breadcrumbs with URLs (e.g. Sentry: send_default_pii=False, include_local_variables=False, "
        "max_request_body_size='never'; OpenTelemetry: no header capture)."
    ),
)
def no_telemetry_data(bundle: EvidenceBundle) -> Verdict:
    """Error reporters and tracers ship request data to a third party by default (Sentry frame locals,
    OpenTelemetry URLs with ``?key=``, Langfuse traces). Every request to a host that is not a declared
    provider is scanned for every canary of the user's request: keys and OAuth tokens (any encoding,
    fragments, digests), the prompt and the response. A request carrying any of them is a FAIL, listed
    per host. Telemetry without user data (a heartbeat, a metric, a version ping) is fine; the PASS
    summary lists the hosts that were contacted. A declared key store (``key_store_hosts``) may receive
    keys over TLS while a key is stored, read, used or deleted, never the prompt or the response. A connection whose content was not observed (TLS
    refused, a tunnel without a request, blocked, unreadable raw TCP/UDP) is a WARN. Prompt steps
    must have run (else ERROR).
    """
    performed_steps(bundle, "prompt")
    scan = scanner(bundle, (*KEY_ROLES, *TEXT_ROLES), fragments=True, digests=True)
    others = non_provider(bundle)
    owners = step_owners(bundle)
    leaks: list[EvidenceRef] = []
    leaking = []
    for exchange in others:
        hits = leaked(scan.scan_request(exchange), exchange, bundle, owners)
        if hits:
            leaking.append(exchange)
            leaks.extend(exchange_ref(exchange, hit_detail(bundle, hit)) for hit in hits)
    if leaks:
        per_host = Counter(e.host or "?" for e in leaking)
        listed = ", ".join(
            f"{host} ({plural(n, 'request')})" for host, n in sorted(per_host.items())
        )
        return Verdict.failed(f"request data went to third-party hosts: {listed}", capped(leaks))
    if not others:
        return Verdict.passed(
            f"no third-party host was contacted: {all_of(len(bundle.exchanges), 'exchange')} went to "
            "provider hosts"
        )
    per_host = Counter(e.host or "?" for e in others)
    contacted = ", ".join(f"{host} ({n})" for host, n in sorted(per_host.items()))
    seen = (
        f"{plural(len(others), 'request')} to {plural(len(hosts_of(others)), 'third-party host')}"
    )
    unread = opaque(bundle)
    if unread:
        return Verdict.warn(
            f"{seen} ({contacted}): no request data in those read, but content not observed on "
            f"{plural(len(unread), 'connection')} to {', '.join(hosts_of(unread))}",
            opaque_refs(unread),
        )
    return Verdict.passed(f"{seen} carried no request data: {contacted}")

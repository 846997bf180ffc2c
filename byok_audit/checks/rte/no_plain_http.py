"""RTE-04: the key never travels over plain HTTP."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    KEY_ROLES,
    all_of,
    capped,
    encrypted,
    exchange_ref,
    hit_detail,
    hosts_of,
    performed_steps,
    plural,
    scanner,
)
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Question, Severity, Threat


@check(
    id="RTE-04",
    title="The key never travels over plain HTTP",
    severity=Severity.CRITICAL,
    threats=[Threat.T2],
    questions=[Question.Q2],
    remediation=(
        "Use https:// provider base URLs only and reject any configuration (base URL, proxy) that "
        "would send the key unencrypted."
    ),
)
def no_plain_http(bundle: EvidenceBundle) -> Verdict:
    """A key sent in clear text is readable by every network hop. Every exchange that carried a key
    canary (any encoding, fragment or digest, in headers, query, body, or the messages it sent on a
    WebSocket or raw TCP/UDP connection) must have run inside TLS: scheme ``https`` with a TLS
    connection. A declared key store is no exception. One that did not is a FAIL. No exchange carrying
    a key at all means the BYOK path was not observed: ERROR.
    """
    performed_steps(bundle, "prompt")
    scan = scanner(bundle, KEY_ROLES, fragments=True, digests=True)
    carrying, clear = [], []
    evidence: list[EvidenceRef] = []
    for exchange in bundle.exchanges:
        hits = scan.scan_request(exchange)
        if not hits:
            continue
        carrying.append(exchange)
        if not encrypted(exchange):
            clear.append(exchange)
            evidence.extend(
                exchange_ref(exchange, f"plain text: {hit_detail(bundle, hit)}") for hit in hits
            )
    if clear:
        return Verdict.failed(
            f"{len(clear)} of {plural(len(carrying), 'key-bearing exchange')} were not encrypted "
            f"(to {', '.join(hosts_of(clear))})",
            capped(evidence),
        )
    if not carrying:
        raise EvidenceMissing("no exchange carried a key: the BYOK call path was not observed")
    return Verdict.passed(
        f"{all_of(len(carrying), 'key-bearing exchange')} ran over TLS (to {', '.join(hosts_of(carrying))})"
    )

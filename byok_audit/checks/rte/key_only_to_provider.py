"""RTE-01: the key goes only to provider hosts."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    KEY_ROLES,
    capped,
    exchange_ref,
    hit_detail,
    hosts_of,
    is_provider,
    key_store_use,
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
    id="RTE-01",
    title="The key goes only to provider hosts",
    severity=Severity.CRITICAL,
    threats=[Threat.T2],
    questions=[Question.Q2],
    remediation=(
        "Send the user's key only to the provider's API host, in its auth header; never to a "
        "router, a telemetry service or any other host, in any encoding or in part."
    ),
)
def key_only_to_provider(bundle: EvidenceBundle) -> Verdict:
    """Whoever receives the key can spend the user's money. Every recorded outbound request (headers,
    query, body decoded per Content-Encoding, and the messages the target sent on WebSocket and raw
    TCP/UDP connections) is scanned for every key and OAuth-token canary in any encoding, as a fragment
    beyond the display suffix, or as an unsalted digest. A hit in an exchange that is not addressed to a declared provider host by CONNECT host, SNI
    and Host header alike (so domain fronting counts as non-provider) is a FAIL. Non-provider
    connections whose content was not observed (the client refused the proxy's CA, opened a tunnel and
    sent no request, was blocked, or spoke raw TCP/UDP that showed nothing readable) make a WARN. At
    least one key must be seen going to a provider, or the BYOK path was not exercised: ERROR.
    A platform that keeps keys in a secrets manager declares it in ``key_store_hosts``: a key sent over
    TLS to such a host while a key is stored, read, used or deleted (put_key, get_key, prompt,
    delete_key steps) is where it belongs, and the summary names the store; anywhere else, or in plain
    HTTP, it is a FAIL like any other host.
    """
    performed_steps(bundle, "prompt")
    scan = scanner(bundle, KEY_ROLES, fragments=True, digests=True)
    owners = step_owners(bundle)
    leaks: list[EvidenceRef] = []
    leaking, to_provider, to_store = [], [], []
    for exchange in bundle.exchanges:
        hits = scan.scan_request(exchange)
        if not hits:
            continue
        if is_provider(exchange, bundle):
            to_provider.append(exchange)
        elif key_store_use(exchange, bundle, owners):
            to_store.append(exchange)
        else:
            leaking.append(exchange)
            leaks.extend(exchange_ref(exchange, hit_detail(bundle, hit)) for hit in hits)
    if leaks:
        leaked_to = hosts_of(leaking)
        return Verdict.failed(
            f"a key went to {len(leaked_to)} non-provider host(s): {', '.join(leaked_to)} "
            f"({plural(len(leaks), 'hit')})",
            capped(leaks),
        )
    if not to_provider:
        raise EvidenceMissing(
            "no exchange carried a key to a provider host: the BYOK call path was not exercised "
            "or its traffic was not seen by the proxy"
        )
    unread = opaque(bundle)
    seen = f"scanned {plural(len(bundle.exchanges), 'exchange')} to {plural(len(hosts_of(bundle.exchanges)), 'host')}"
    if unread:
        return Verdict.warn(
            f"{seen}: keys went only to provider hosts, but content not observed on "
            f"{plural(len(unread), 'connection')} to {', '.join(hosts_of(unread))}",
            opaque_refs(unread),
        )
    store = (
        f" and the declared key store ({', '.join(hosts_of(to_store))}, "
        f"{plural(len(to_store), 'exchange')} while handling a key)"
        if to_store
        else ""
    )
    return Verdict.passed(
        f"{seen}: keys went only to provider hosts ({', '.join(hosts_of(to_provider))}, "
        f"{plural(len(to_provider), 'exchange')}){store}"
    )

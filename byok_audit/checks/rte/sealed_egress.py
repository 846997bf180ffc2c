"""RTE-05: no egress that bypasses the proxy."""

from __future__ import annotations

from byok_audit.checks.base import Verdict, check
from byok_audit.checks.common import (
    KEY_ROLES,
    TEXT_ROLES,
    capped,
    hit_detail,
    names,
    performed_steps,
    plural,
    scanner,
    size,
)
from byok_audit.models.canary import CanaryRole
from byok_audit.models.evidence import EvidenceBundle, Exchange
from byok_audit.models.finding import EvidenceRef, Question, Severity, Threat

_CARRIED = {
    CanaryRole.KEY: "a user's API key",
    CanaryRole.OAUTH_TOKEN: "a user's OAuth token",
    CanaryRole.PROMPT: "prompt text",
    CanaryRole.RESPONSE: "response text",
    CanaryRole.MASTER_SECRET: "the master secret",
}


@check(
    id="RTE-05",
    title="No egress bypassing the proxy (sealed egress)",
    severity=Severity.HIGH,
    threats=[Threat.T2],
    questions=[Question.Q2],
    remediation=(
        "Honour HTTPS_PROXY for every outbound connection (HTTP clients, SDKs, telemetry agents) and "
        "do not open raw sockets, resolve names yourself, or use hard-coded IPs or DNS-over-HTTPS to "
        "reach the outside."
    ),
    optional=True,
)
def sealed_egress(bundle: EvidenceBundle) -> Verdict:
    """Every other routing check sees only what went through the proxy; code that opens its own sockets
    could send the key anywhere unseen. With sealed egress the whole audit runs in a network namespace
    whose only way out is the proxy's TUN device: a connection, datagram or DNS query the target sends
    around the proxy is caught there and recorded (``via="tun"``), as is a raw connection the proxy
    refused to open (``blocked``). Any such record is a FAIL, and it says what the traffic carried (a
    key or prompt canary makes it plain). Without sealed egress the property cannot be measured, so the
    check is NOT_APPLICABLE (it is optional: only an A+ needs it).
    """
    if not bundle.harness.sealed_egress:
        return Verdict.not_applicable(
            "needs sealed egress (byok-audit run --sealed: the audit in a network namespace whose only "
            "way out is the proxy); this run relied on the target honouring HTTPS_PROXY, so traffic "
            "around the proxy could not have been seen"
        )
    performed_steps(bundle, "prompt")
    around = [e for e in bundle.exchanges if e.via == "tun"]
    refused = [e for e in bundle.exchanges if e.kind == "blocked" and e.via != "tun"]
    if not around and not refused:
        hosts = sorted({h for e in bundle.exchanges for h in names(e)})
        return Verdict.passed(
            f"all {plural(len(bundle.exchanges), 'outbound exchange')} went through the proxy "
            f"(hosts: {', '.join(hosts) or 'none'}); nothing went around it: no direct connection, "
            f"datagram or DNS query of its own. Watched: {bundle.harness.seal or 'sealed egress'}"
        )
    scan = scanner(
        bundle,
        (*KEY_ROLES, *TEXT_ROLES, CanaryRole.MASTER_SECRET),
        fragments=False,
        digests=False,
    )
    evidence: list[EvidenceRef] = []
    carried: set[str] = set()
    for exchange in [*around, *refused]:
        hits = scan.scan_request(exchange)
        for hit in hits:
            canary = bundle.canaries.maybe(hit.canary_id) if hit.canary_id else None
            carried.add(_CARRIED.get(canary.role, hit.role) if canary else hit.role)
        evidence.append(_ref(exchange))
        evidence.extend(
            EvidenceRef(
                kind="exchange", ref=f"exchange {exchange.id}", detail=hit_detail(bundle, hit)
            )
            for hit in hits
        )
    parts = []
    if around:
        parts.append(
            f"{plural(len(around), 'exchange')} went around the proxy "
            f"(to {', '.join(sorted({_where(e) for e in around}))})"
        )
    if refused:
        parts.append(
            f"{plural(len(refused), 'raw connection')} the proxy refused to open "
            f"(to {', '.join(sorted({_where(e) for e in refused}))})"
        )
    summary = "; ".join(parts)
    if carried:
        summary = (
            f"{' and '.join(sorted(carried))} left the platform outside the proxy, where only the "
            f"seal saw it: {summary}"
        )
    return Verdict.failed(summary, capped(evidence))


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _where(exchange: Exchange) -> str:
    """The destination by the best name known: ``o123.ingest.sentry.io (198.18.0.1:443)``."""
    if exchange.kind == "dns":
        return f"DNS {_address(exchange.host, exchange.port)} for {exchange.path or '?'}"
    address = _address(exchange.host or "?", exchange.port)
    name = (
        exchange.resolved_name
        or exchange.sni
        or (exchange.host_header or "").split(":")[0]
        or exchange.host
    )
    return address if name == exchange.host else f"{name} ({address})"


def _ref(exchange: Exchange) -> EvidenceRef:
    """What one bypassing exchange was and carried (sizes only; canary hits follow as their own refs)."""
    if exchange.kind == "dns":
        answer = exchange.response_body.decode(errors="replace") or "no address"
        what = f"{exchange.method} query for {exchange.path}, answered {answer} by the harness"
    elif exchange.kind == "http":
        what = (
            f"{exchange.method} {exchange.scheme}://{exchange.host_header or exchange.host}"
            f"{exchange.path}, {size(len(exchange.request_body))} body"
            f"{', TLS' if exchange.tls else ''}"
        )
    elif exchange.kind in ("tcp", "udp"):
        sent = sum(len(m.content) for m in exchange.messages if m.from_client)
        what = f"raw {exchange.kind.upper()}, {size(sent)} sent (captured, then dropped)"
    elif exchange.kind == "tls_failed":
        what = "TLS that refused the audit CA (content unread)"
    else:
        what = exchange.error or exchange.kind
    names_seen = ", ".join(
        f"{label} {value}"
        for label, value in (
            ("resolved", exchange.resolved_name),
            ("SNI", exchange.sni),
            ("Host", exchange.host_header),
        )
        if value
    )
    via = "around the proxy" if exchange.via == "tun" else "refused by the proxy"
    detail = f"{via}: {what}" + (f" [{names_seen}]" if names_seen else "")
    where = _where(exchange) if exchange.kind == "dns" else f"{exchange.kind} to {_where(exchange)}"
    return EvidenceRef(kind="exchange", ref=f"exchange {exchange.id}: {where}", detail=detail)

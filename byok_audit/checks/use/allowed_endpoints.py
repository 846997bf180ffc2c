"""USE-02: the key is used only on the allowed provider endpoints."""

from __future__ import annotations

from collections import Counter

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    KEY_ROLES,
    all_of,
    capped,
    exchange_ref,
    is_provider,
    plural,
    scanner,
)
from byok_audit.models.evidence import EvidenceBundle, Exchange
from byok_audit.models.finding import EvidenceRef, Severity, Threat

_ADMIN_HINTS = ("/organizations", "/admin", "/api_keys", "/users", "/invites", "/workspaces")


def endpoint_allowed(exchange: Exchange, patterns: list[str]) -> bool:
    """``METHOD /path`` patterns; a trailing ``*`` matches any rest of the path; method ``*`` any."""
    method, path = exchange.method.upper(), exchange.path
    for pattern in patterns:
        want_method, _, want_path = pattern.strip().partition(" ")
        if want_method.upper() not in ("*", method):
            continue
        want_path = want_path.strip()
        if (want_path.endswith("*") and path.startswith(want_path[:-1])) or path == want_path:
            return True
    return False


@check(
    id="USE-02",
    title="The key is used only on allowed provider endpoints",
    severity=Severity.HIGH,
    threats=[Threat.T2],
    questions=[],
    remediation=(
        "Call only the inference endpoints the product needs (messages, count_tokens, models); never "
        "organization, workspace, user, invite or API-key administration endpoints."
    ),
)
def allowed_endpoints(bundle: EvidenceBundle) -> Verdict:
    """An admin-capable key can create keys, invite members or read billing: a platform that calls
    those endpoints with it has turned BYOK into account takeover. Every exchange to a provider host
    that carries a key or OAuth-token canary (any encoding) must match one of the profile's
    ``allowed_endpoints`` (``METHOD /path``, a trailing ``*`` matching any rest). Any other endpoint is a
    FAIL (organization and admin paths are named as such). Needs at least one key-bearing provider
    exchange and a non-empty allow-list (else ERROR).
    """
    patterns = bundle.target.allowed_endpoints
    if not patterns:
        raise EvidenceMissing("the profile declares no allowed_endpoints")
    scan = scanner(bundle, KEY_ROLES, fragments=False, digests=False)
    used = [
        e
        for e in bundle.exchanges
        if is_provider(e, bundle) and e.kind == "http" and scan.scan_request(e)
    ]
    if not used:
        raise EvidenceMissing("no exchange carried a key to a provider host")
    outside: list[EvidenceRef] = []
    for exchange in used:
        if not endpoint_allowed(exchange, patterns):
            admin = any(hint in exchange.path for hint in _ADMIN_HINTS)
            why = "admin/organization endpoint" if admin else "not in allowed_endpoints"
            outside.append(exchange_ref(exchange, f"{exchange.endpoint}: {why}"))
    if outside:
        return Verdict.failed(
            f"{len(outside)} of {plural(len(used), 'key-bearing provider request')} used endpoints outside "
            "the allow-list",
            capped(outside),
        )
    counts = Counter(e.endpoint for e in used)
    listed = ", ".join(f"{endpoint} ×{n}" for endpoint, n in sorted(counts.items()))
    return Verdict.passed(
        f"{all_of(len(used), 'key-bearing provider request')} on allowed endpoints: {listed}"
    )

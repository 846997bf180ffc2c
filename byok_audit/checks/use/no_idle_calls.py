"""USE-01: nothing goes upstream with the key unless the user asked for something."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    KEY_ROLES,
    capped,
    exchange_ref,
    hit_detail,
    hosts_of,
    key_store_use,
    performed_steps,
    plural,
    scanner,
    step_owners,
)
from byok_audit.models.evidence import EvidenceBundle, StepRecord
from byok_audit.models.finding import EvidenceRef, Severity, Threat
from byok_audit.scan import Hit

#: Steps in which the user asked for something that may take their key upstream: a prompt, and saving
#: a key (a platform may validate it on save; which endpoint it used is USE-02's business).
USER_REQUESTS = ("prompt", "put_key")


def _unsolicited(step: StepRecord | None, hits: list[Hit], to_key_store: bool) -> str | None:
    """Why a key-bearing exchange owned by ``step`` was not asked for (None: it served a request)."""
    if step is None:
        return "outside every step (before the first one started)"
    if step.action in USER_REQUESTS or to_key_store:
        return None
    if step.action == "bad_input":
        if step.params.get("kind") == "unknown_model":
            return None  # a prompt: forwarding it lets the provider refuse the model
        submitted = step.data.get("canary")
        if submitted is not None and all(h.canary_id == submitted for h in hits):
            return None  # only the key the user just submitted: API-02/04/05 judge where it went
    return f"during {step.action} step {step.index}"


def _served(keyed: int) -> str:
    if not keyed:
        return "no key-bearing exchange at all"
    return f"{plural(keyed, 'key-bearing exchange')}, each serving a prompt or a key save"


@check(
    id="USE-01",
    title="No unsolicited calls: nothing upstream with the key while idle",
    severity=Severity.HIGH,
    threats=[Threat.T2],
    questions=[],
    remediation=(
        "Use a user's key only to serve that user's request; no background jobs, warm-ups, "
        "validations on a timer or usage probes with it."
    ),
)
def no_idle_calls(bundle: EvidenceBundle) -> Verdict:
    """A platform that calls the provider with a user's key when the user asked for nothing spends their
    money (or mines their quota) behind their back. Every exchange that carries a key or OAuth-token
    canary (any encoding, to any host) must belong to a step in which the user asked for something
    that may use it: a prompt (including a prompt for an unknown model) or saving a key. Such an
    exchange during any other step (idle windows where the driver sends nothing, reading or deleting
    the key, creating users, snapshots, restarts, ...) is a FAIL, and so is one before the first step;
    a bad-input step may send out only the key it submitted (API-02/04/05 judge that), and a declared
    key store (``key_store_hosts``) may get the key over TLS while it is read or deleted too. An exchange
    belongs to the last step that started before it, so a call fired just after a step's reply counts
    against that step. Needs at least one idle step (else ERROR).
    """
    scan = scanner(bundle, KEY_ROLES, fragments=False, digests=False)
    owners = step_owners(bundle)
    unsolicited: list[EvidenceRef] = []
    keyed = 0
    for exchange in bundle.exchanges:
        hits = scan.scan_request(exchange)
        if not hits:
            continue
        keyed += 1
        why = _unsolicited(owners.get(exchange.id), hits, key_store_use(exchange, bundle, owners))
        if why is not None:
            unsolicited.append(exchange_ref(exchange, f"{why}: {hit_detail(bundle, hits[0])}"))
    if unsolicited:
        return Verdict.failed(
            f"{len(unsolicited)} of {plural(keyed, 'key-bearing exchange')} served no user request",
            capped(unsolicited),
        )
    try:
        idles = performed_steps(bundle, "idle")
    except EvidenceMissing as missing:
        raise EvidenceMissing(
            f"{missing}: without an idle window, background use of the key cannot be observed"
        ) from None
    during = [e for s in idles for e in bundle.exchanges_of(s)]
    window = sum(s.ended - s.started for s in idles)
    seen = f"{plural(len(idles), 'idle window')} ({window:.1f} s)"
    others = f"; {plural(len(during), 'exchange')} without a key during them" if during else ""
    to = f" (to {', '.join(hosts_of(during))})" if during else ""
    return Verdict.passed(f"no exchange carried a key during {seen}{others}{to}; {_served(keyed)}")

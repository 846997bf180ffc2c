"""Small evidence queries shared by many checks. Pure: they only read the bundle."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from byok_audit.checks.base import EvidenceMissing
from byok_audit.models.canary import Canary, CanaryRole
from byok_audit.models.evidence import (
    CapturedFile,
    EvidenceBundle,
    Exchange,
    HttpCall,
    StepRecord,
    header_values,
)
from byok_audit.models.finding import EvidenceRef
from byok_audit.scan import Hit, Scanner
from byok_audit.scan.decode import content_codings, decode_body

T = TypeVar("T")


def host_name(name: str) -> str:
    """A host name as compared: lowercased, without the root's trailing dot (``api.example.com.``)."""
    return name.lower().rstrip(".")


def names(exchange: Exchange) -> set[str]:
    """Every name the exchange was addressed to (CONNECT host, SNI, Host header), normalised."""
    return {host_name(n) for n in exchange.hosts} - {""}


def addressed_only_to(exchange: Exchange, hosts: Iterable[str]) -> bool:
    """True when the exchange has a name and every name it was addressed to is one of ``hosts``."""
    allowed = {host_name(h) for h in hosts}
    addressed = names(exchange)
    return bool(addressed) and addressed <= allowed


def is_provider(exchange: Exchange, bundle: EvidenceBundle) -> bool:
    """True when every name the exchange was addressed to is a declared provider host."""
    return addressed_only_to(exchange, bundle.target.provider_hosts)


def encrypted(exchange: Exchange) -> bool:
    """The exchange ran inside TLS (scheme not ``http`` and a TLS connection)."""
    return exchange.tls and exchange.scheme != "http"


#: Steps in which a platform that keeps keys in a secrets manager may send a key to it.
KEY_STORE_STEPS = ("put_key", "get_key", "prompt", "delete_key")


def key_store_use(
    exchange: Exchange, bundle: EvidenceBundle, owners: dict[int, StepRecord]
) -> bool:
    """A TLS exchange with a declared key-store host (Vault, AWS Secrets Manager) during a step that
    stores, reads, uses or deletes a key: where such a platform sends the key by design."""
    step = owners.get(exchange.id)
    return (
        step is not None
        and step.action in KEY_STORE_STEPS
        and encrypted(exchange)
        and addressed_only_to(exchange, bundle.target.key_store_hosts)
    )


def request_text(exchange: Exchange) -> bytes:
    """What the target sent, flattened: request line, headers and body (wire bytes)."""
    head = f"{exchange.method} {exchange.path}?{exchange.query}\n".encode()
    headers = "".join(f"{k}: {v}\n" for k, v in exchange.request_headers).encode()
    return head + headers + exchange.request_body


def keys_sent(exchange: Exchange, bundle: EvidenceBundle) -> list[Canary]:
    """Key canaries whose raw value the target sent in this exchange (headers, query or body)."""
    sent = request_text(exchange)
    return [
        c
        for c in bundle.canaries.of_role(CanaryRole.KEY, CanaryRole.OAUTH_TOKEN)
        if c.value.encode() in sent
    ]


def step_owners(bundle: EvidenceBundle) -> dict[int, StepRecord]:
    """The step each exchange belongs to: the one listing it (the recorder gives an exchange to the last
    step that started before it). Exchanges before the first step belong to none."""
    return {i: s for s in bundle.steps for i in s.exchange_ids}


def upstream_calls(bundle: EvidenceBundle, step: StepRecord) -> list[Exchange]:
    """HTTP exchanges to provider hosts during a step."""
    return [e for e in bundle.exchanges_of(step) if e.kind == "http" and is_provider(e, bundle)]


def require_steps(bundle: EvidenceBundle, action: str) -> list[StepRecord]:
    """The recorded steps of one action that ran; EvidenceMissing when none did."""
    steps = [s for s in bundle.steps_of(action) if s.outcome != "error"]
    if not steps:
        failed = bundle.steps_of(action)
        why = f"; {failed[0].note}" if failed and failed[0].note else ""
        raise EvidenceMissing(f"no completed '{action}' step in the bundle{why}")
    return steps


def performed(step: StepRecord) -> bool:
    """The step happened: the harness did not fail it, the target answered, or traffic was seen.

    A target's 5xx answer is an observation (the runner may still mark such a step ``error``).
    """
    answered = any(c.status is not None for c in step.calls)
    return step.outcome != "error" or answered or bool(step.exchange_ids)


def performed_steps(bundle: EvidenceBundle, action: str) -> list[StepRecord]:
    """The steps of one action that happened (see :func:`performed`); EvidenceMissing when none did."""
    steps = [s for s in bundle.steps_of(action) if performed(s)]
    if not steps:
        failed = bundle.steps_of(action)
        why = f"; {failed[0].note}" if failed and failed[0].note else ""
        raise EvidenceMissing(f"no '{action}' step was performed{why}")
    return steps


def steps_after(bundle: EvidenceBundle, step: StepRecord) -> list[StepRecord]:
    return [s for s in bundle.steps if s.index > step.index]


def exchange_ref(exchange: Exchange, detail: str = "") -> EvidenceRef:
    where = f"{exchange.method} {exchange.scheme}://{exchange.host}{exchange.path}".strip()
    return EvidenceRef(kind="exchange", ref=f"exchange {exchange.id}: {where}", detail=detail)


def step_ref(step: StepRecord, detail: str = "") -> EvidenceRef:
    who = f" as {step.user}" if step.user else ""
    return EvidenceRef(
        kind="step", ref=f"step {step.index} ({step.scenario}: {step.action}{who})", detail=detail
    )


# -- upstream request bodies and target API statuses (RTE/USE/API checks) ----------------------------

_GENERATION_PATH = re.compile(
    r"(/v1/messages|/chat/completions|/v1/completions|/v1/responses|:generateContent"
    r"|:streamGenerateContent)/?$"
)
#: Request bodies the checks parse (model, max_tokens) are small; this only bounds a hostile one.
_BODY_CAP = 64 << 20


def is_generation(exchange: Exchange) -> bool:
    """A model call (messages, chat completions, responses), as opposed to count_tokens or models."""
    return exchange.method.upper() == "POST" and bool(_GENERATION_PATH.search(exchange.path))


def decoded_request_body(exchange: Exchange) -> bytes:
    """The request body with its Content-Encoding undone (as far as it decodes)."""
    codings = content_codings(header_values(exchange.request_headers, "content-encoding"))
    body, _, _ = decode_body(exchange.request_body, codings, cap=_BODY_CAP)
    return body


def request_json(exchange: Exchange) -> dict[str, Any] | None:
    """The request body as a JSON object, or None when it is not one."""
    try:
        value = json.loads(decoded_request_body(exchange))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


_SNAPSHOT_DATE = re.compile(r"-\d{8}")


def same_model(chosen: str, sent: str) -> bool:
    """Equal, or the alias resolved to its dated snapshot (``claude-x`` → ``claude-x-20250929``)."""
    return sent == chosen or (
        sent.startswith(chosen) and bool(_SNAPSHOT_DATE.fullmatch(sent[len(chosen) :]))
    )


def final_status(step: StepRecord) -> int | None:
    """The HTTP status of the last call of a step that got an answer (None: no answer at all)."""
    answered = [c.status for c in step.calls if c.status is not None]
    return answered[-1] if answered else None


def succeeded(step: StepRecord) -> bool:
    """The target accepted the step and said so with a 2xx answer."""
    status = final_status(step)
    return step.outcome == "ok" and status is not None and 200 <= status < 300


def generation_calls(bundle: EvidenceBundle, step: StepRecord) -> list[Exchange]:
    """Model calls to provider hosts that belong to a step (its window runs until the next step
    starts, so a call fired after the reply is among them), in the order they started."""
    calls = [e for e in upstream_calls(bundle, step) if is_generation(e)]
    return sorted(calls, key=lambda e: e.started)


@dataclass(frozen=True)
class Uncompared:
    """Prompt steps answered 2xx whose upstream requests could not be compared with what was asked."""

    steps: list[tuple[StepRecord, str]]

    def refs(self) -> list[EvidenceRef]:
        return [step_ref(s, f"answered 2xx, not compared: {why}") for s, why in self.steps]

    def problem(self) -> str | None:
        if not self.steps:
            return None
        return (
            f"{plural(len(self.steps), 'successful prompt step')} could not be compared "
            f"({step_numbers(s for s, _ in self.steps)})"
        )


def asked_and_sent(
    bundle: EvidenceBundle, read: Callable[[object], T | None], param: str
) -> tuple[list[tuple[StepRecord, T, Exchange, dict[str, Any] | None]], Uncompared]:
    """For USE-03/USE-04: each prompt step's ``param`` (as ``read`` accepts it) beside every generation
    request the step caused, with that request's JSON body (None when it is not a JSON object)."""
    pairs: list[tuple[StepRecord, T, Exchange, dict[str, Any] | None]] = []
    skipped: list[tuple[StepRecord, str]] = []
    for step in performed_steps(bundle, "prompt"):
        asked = read(step.params.get(param))
        calls = generation_calls(bundle, step)
        if asked is None or not calls:
            if succeeded(step):
                why = (
                    "no generation request reached a provider" if not calls else f"no {param} asked"
                )
                skipped.append((step, why))
            continue
        pairs += [(step, asked, exchange, request_json(exchange)) for exchange in calls]
    return pairs, Uncompared(skipped)


def step_numbers(steps: Iterable[StepRecord], limit: int = 10) -> str:
    """``step 4`` or ``steps 4, 9, 12`` (the first ``limit``, then how many more)."""
    indexes = [str(s.index) for s in steps]
    shown = ", ".join(indexes[:limit]) + (
        f" and {len(indexes) - limit} more" if len(indexes) > limit else ""
    )
    return f"step {shown}" if len(indexes) == 1 else f"steps {shown}"


# -- leak scanning (RTE/LOG/USE/API checks) ---------------------------------------------------------

KEY_ROLES = (CanaryRole.KEY, CanaryRole.OAUTH_TOKEN)
TEXT_ROLES = (CanaryRole.PROMPT, CanaryRole.RESPONSE)
#: Findings listed per check; the summary always gives the full count.
MAX_EVIDENCE = 25


def scanner(
    bundle: EvidenceBundle,
    roles: Iterable[CanaryRole] = (),
    *,
    canaries: Iterable[Canary] = (),
    **options: bool,
) -> Scanner:
    """A scanner for the bundle's canaries of ``roles`` (plus any given), honouring the display suffix."""
    chosen = [*bundle.canaries.of_role(*roles), *canaries]
    return Scanner(chosen, display_suffix_len=bundle.target.display_suffix_len, **options)


_KEY_ROLE_NAMES = {str(role) for role in KEY_ROLES}


def leaked(
    hits: list[Hit], exchange: Exchange, bundle: EvidenceBundle, owners: dict[int, StepRecord]
) -> list[Hit]:
    """The hits in a non-provider request that are leaks: all, except keys sent to a declared key
    store while a key was handled (:func:`key_store_use`); prompt and response text always are."""
    if not key_store_use(exchange, bundle, owners):
        return hits
    return [hit for hit in hits if hit.role not in _KEY_ROLE_NAMES]


def hit_detail(bundle: EvidenceBundle, hit: Hit) -> str:
    """A redacted one-line description of a hit: which canary, in which form, where, and the excerpt."""
    canary = bundle.canaries.maybe(hit.canary_id) if hit.canary_id else None
    label = canary.label if canary else hit.label
    return f"{label} as {hit.form} in {hit.source}: {hit.excerpt}"


def file_ref(bundle: EvidenceBundle, file: CapturedFile, hit: Hit) -> EvidenceRef:
    where = f"{file.name}:{hit.line}" if hit.line else f"{file.name}@{hit.offset}"
    return EvidenceRef(kind="file", ref=where, detail=hit_detail(bundle, hit))


def non_provider(bundle: EvidenceBundle) -> list[Exchange]:
    """Exchanges not addressed (by every name) to a declared provider host."""
    return [e for e in bundle.exchanges if not is_provider(e, bundle)]


#: How a TLS record starts (handshake, application data): a raw stream that is TLS inside is unreadable.
_TLS_RECORDS = (b"\x16\x03", b"\x17\x03")


def unobserved(exchange: Exchange) -> str | None:
    """Why the proxy saw none of what the target meant to send on a connection (None: it saw it)."""
    if exchange.kind == "tls_failed":
        return exchange.error or "the client refused our CA in the TLS handshake"
    if exchange.kind == "connect":
        return "a tunnel was opened but no request followed"
    if exchange.kind == "blocked":
        return "the connection was blocked before anything was sent"
    if exchange.kind in ("tcp", "udp"):
        sent = [m.content for m in exchange.messages if m.from_client and m.content]
        if not sent:
            return f"raw {exchange.kind.upper()}: nothing from the client was seen"
        if sent[0].startswith(_TLS_RECORDS):
            return f"raw {exchange.kind.upper()} carrying TLS: encrypted, unreadable"
    return None


def opaque(bundle: EvidenceBundle) -> list[Exchange]:
    """Non-provider connections whose content was not observed: the client refused our CA, opened a
    tunnel and sent no request, was blocked, or spoke raw TCP/UDP that showed nothing readable."""
    return [e for e in non_provider(bundle) if unobserved(e) is not None]


def opaque_refs(exchanges: Iterable[Exchange]) -> list[EvidenceRef]:
    return capped([exchange_ref(e, f"content not observed: {unobserved(e)}") for e in exchanges])


def hosts_of(exchanges: Iterable[Exchange]) -> list[str]:
    return sorted({e.host or "?" for e in exchanges})


def capped(refs: list[EvidenceRef]) -> list[EvidenceRef]:
    """At most MAX_EVIDENCE refs, with a note saying how many were left out."""
    if len(refs) <= MAX_EVIDENCE:
        return refs
    left = EvidenceRef(kind="note", ref=f"{len(refs) - MAX_EVIDENCE} more not listed")
    return [*refs[:MAX_EVIDENCE], left]


def size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.0f} KiB"


def reached_provider(bundle: EvidenceBundle, scan: Scanner) -> bool:
    """True when the target sent one of the scanner's canaries to a provider host at least once."""
    return any(scan.scan_request(e) for e in bundle.exchanges if is_provider(e, bundle))


def reply_body(call: HttpCall) -> bytes:
    """The body the target answered, its Content-Encoding undone as far as it decodes (the driver
    records the wire bytes, and its client asks for gzip, deflate, br and zstd)."""
    codings = content_codings(header_values(call.response_headers, "content-encoding"))
    body, _, _ = decode_body(call.response_body, codings, cap=_BODY_CAP)
    return body


def reply_bytes(call: HttpCall) -> bytes:
    """What the target answered the driver, to scan: header lines, then the decoded body (and the wire
    bytes too when decoding stopped early, so nothing goes unscanned)."""
    head = "".join(f"{k}: {v}\n" for k, v in call.response_headers).encode()
    codings = content_codings(header_values(call.response_headers, "content-encoding"))
    body, layers, problem = decode_body(call.response_body, codings, cap=_BODY_CAP)
    if problem and layers:
        body += b"\n" + call.response_body
    return head + body


def plural(n: int, noun: str) -> str:
    """``1 host``, ``3 hosts``; the last word of ``noun`` takes the plural."""
    if n == 1:
        return f"{n} {noun}"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{n} {noun[:-1]}ies"
    return f"{n} {noun}es" if noun.endswith(("s", "x", "o", "ch", "sh")) else f"{n} {noun}s"


def all_of(n: int, noun: str) -> str:
    """``all 3 hosts``, or ``the one host``."""
    return f"the one {noun}" if n == 1 else f"all {plural(n, noun)}"

"""RTE-02: no LLM router or aggregator host in a BYOK call path."""

from __future__ import annotations

from byok_audit.checks.aggregators import AGGREGATORS, Aggregator, known_aggregator, llm_api_path
from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import (
    KEY_ROLES,
    TEXT_ROLES,
    capped,
    exchange_ref,
    hosts_of,
    is_provider,
    names,
    performed_steps,
    plural,
    scanner,
)
from byok_audit.models.evidence import EvidenceBundle, Exchange
from byok_audit.models.finding import EvidenceRef, Question, Severity


def _router(exchange: Exchange, bundle: EvidenceBundle) -> Aggregator | None:
    """The known router this exchange was addressed to, or a relay inferred from an LLM-API path."""
    for host in sorted(names(exchange)):
        entry = known_aggregator(host, exchange.path, bundle.target.aggregator_hosts)
        if entry is not None:
            return entry
    if (
        exchange.kind == "http"
        and not is_provider(exchange, bundle)
        and llm_api_path(exchange.path)
    ):
        host = exchange.host or "?"
        return Aggregator(host, host, f"LLM-API request ({exchange.path}) to a non-provider host")
    return None


@check(
    id="RTE-02",
    title="No LLM router or aggregator host in a BYOK call path",
    severity=Severity.CRITICAL,
    threats=[],
    questions=[Question.Q2],
    remediation=(
        "Call the provider's API directly with the user's key; remove routers and AI gateways "
        "(OpenRouter, Portkey, Helicone, Cloudflare AI Gateway, LiteLLM, ...) from the BYOK path."
    ),
)
def no_aggregator(bundle: EvidenceBundle) -> Verdict:
    """A router sees every prompt, every response and the key: the hop the article's question 2 asks
    about. Every exchange is matched against the maintained list of routers and AI gateways
    (``byok_audit/checks/aggregators.py``) plus the profile's ``aggregator_hosts``, by CONNECT host,
    SNI and Host header; an LLM-API-shaped request (``/chat/completions``, ``/v1/messages``,
    ``/litellm``, ...) to a host that is not a declared provider counts as a self-hosted relay. Such an
    exchange during a prompt step, carrying a key or the user's text, or on an LLM-API path is a FAIL;
    any other contact with a router host (a model-list fetch, say) is a WARN. Prompt steps must have
    produced outbound traffic, or nothing was observed: ERROR.
    """
    prompts = performed_steps(bundle, "prompt")
    during_prompt = {i for s in prompts for i in s.exchange_ids}
    if not during_prompt:
        raise EvidenceMissing("no outbound traffic was recorded during the prompt steps")
    scan = scanner(bundle, (*KEY_ROLES, *TEXT_ROLES), fragments=False, digests=False)
    in_path: list[EvidenceRef] = []
    contacted: list[EvidenceRef] = []
    for exchange in bundle.exchanges:
        router = _router(exchange, bundle)
        if router is None:
            continue
        carried = sorted({hit.role for hit in scan.scan_request(exchange)})
        reasons = [
            *(["during a prompt step"] if exchange.id in during_prompt else []),
            *([f"carrying {', '.join(carried)}"] if carried else []),
            *(["on an LLM-API path"] if llm_api_path(exchange.path) else []),
        ]
        detail = f"{router.name}: {router.note}" + (f" ({'; '.join(reasons)})" if reasons else "")
        (in_path if reasons else contacted).append(exchange_ref(exchange, detail))
    if in_path:
        return Verdict.failed(
            f"{plural(len(in_path), 'exchange')} went through an LLM router or gateway",
            capped(in_path + contacted),
        )
    checked = f"{len(AGGREGATORS)} known routers + {len(bundle.target.aggregator_hosts)} declared"
    if contacted:
        return Verdict.warn(
            f"no router in the call path, but {plural(len(contacted), 'exchange')} contacted a router host "
            f"outside prompt steps without user data ({checked})",
            capped(contacted),
        )
    hosts = hosts_of(bundle.exchanges)
    return Verdict.passed(
        f"{plural(len(bundle.exchanges), 'exchange')} to {plural(len(hosts), 'host')} ({', '.join(hosts[:8])}"
        f"{', …' if len(hosts) > 8 else ''}); none to a router or gateway ({checked})"
    )

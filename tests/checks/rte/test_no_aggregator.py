from byok_audit.checks.aggregators import host_matches, known_aggregator, llm_api_path
from byok_audit.checks.rte.no_aggregator import no_aggregator
from byok_audit.models.canary import CanaryTable
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
KEY = TABLE.key("alice-1", "alice")


def run(*exchanges, prompt_ids=None, **target):
    ids = [e.id for e in exchanges] if prompt_ids is None else prompt_ids
    bundle = b.bundle(
        canaries=TABLE,
        target=b.target(**target),
        steps=[b.step("prompt", exchange_ids=ids)],
        exchanges=list(exchanges),
    )
    return no_aggregator.run(bundle)


def test_direct_provider_call_passes():
    result = run(b.keyed(KEY))
    assert result.status == Status.PASS
    assert "none to a router" in result.summary


def test_openrouter_in_the_call_path_fails():
    routed = b.to_host(
        "openrouter.ai",
        path="/api/v1/chat/completions",
        request_headers=[("authorization", f"Bearer {KEY.value}")],
    )
    result = run(routed)
    assert result.status == Status.FAIL
    assert "OpenRouter" in result.evidence[0].detail
    assert "carrying key" in result.evidence[0].detail


def test_self_hosted_relay_is_caught_by_its_path():
    relay = b.to_host("llm-gateway.internal", path="/v1/chat/completions")
    assert run(relay).status == Status.FAIL


def test_profile_declared_aggregator_fails():
    hop = b.to_host("ai.vendor-proxy.example", path="/forward")
    assert run(hop, aggregator_hosts=[".vendor-proxy.example"]).status == Status.FAIL


def test_router_contact_outside_the_call_path_warns():
    catalogue = b.to_host("openrouter.ai", method="GET", path="/api/v1/models")
    result = run(b.keyed(KEY), catalogue, prompt_ids=[])
    assert result.status == Status.ERROR  # nothing recorded during prompts
    first = b.keyed(KEY)
    result = run(first, catalogue, prompt_ids=[first.id])
    assert result.status == Status.WARN


def test_no_traffic_during_prompts_is_an_error():
    assert run(prompt_ids=[]).status == Status.ERROR


def test_host_matching_and_path_prefixes():
    assert host_matches(".helicone.ai", "anthropic.helicone.ai")
    assert host_matches(".helicone.ai", "helicone.ai")
    assert not host_matches(".helicone.ai", "nothelicone.ai")
    assert known_aggregator("api.braintrust.dev", "/v1/proxy/chat/completions") is not None
    assert known_aggregator("api.braintrust.dev", "/v1/project_logs") is None
    assert known_aggregator("gateway.ai.cloudflare.com", "/v1/acct/gw/anthropic/v1/messages")
    assert llm_api_path("/v1/messages") and llm_api_path("/litellm/v1/models")
    assert not llm_api_path("/api/1/envelope/")


def test_router_named_with_a_trailing_dot_is_still_a_router():
    routed = b.to_host("openrouter.ai.", path="/api/v1/models", method="GET")
    first = b.keyed(KEY)
    result = run(first, routed, prompt_ids=[first.id, routed.id])
    assert result.status == Status.FAIL
    assert "OpenRouter" in result.evidence[0].detail

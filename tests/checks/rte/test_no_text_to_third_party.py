import gzip
import json

from byok_audit.checks.rte.no_text_to_third_party import no_text_to_third_party
from byok_audit.models.canary import CanaryTable
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
PROMPT = TABLE.get("prompt")
RESPONSE = TABLE.get("response")


def asked():
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": PROMPT.value}]})
    return b.exchange(request_body=body.encode())


def run(*exchanges):
    step = b.step("prompt", exchange_ids=[e.id for e in exchanges])
    return no_text_to_third_party.run(
        b.bundle(canaries=TABLE, steps=[step], exchanges=list(exchanges))
    )


def test_text_only_to_the_provider_passes():
    result = run(asked(), b.to_host("api.segment.io", request_body=b'{"event": "chat_sent"}'))
    assert result.status == Status.PASS
    assert "api.segment.io" in result.summary


def test_gzipped_trace_with_the_response_fails():
    trace = gzip.compress(json.dumps({"output": RESPONSE.value}).encode())
    exporter = b.to_host(
        "cloud.langfuse.com", request_body=trace, request_headers=[("content-encoding", "gzip")]
    )
    result = run(asked(), exporter)
    assert result.status == Status.FAIL
    assert "cloud.langfuse.com" in result.summary


def test_prompt_to_a_third_party_fails():
    leak = b.to_host("collector.example", request_body=PROMPT.value.encode())
    assert run(asked(), leak).status == Status.FAIL


def test_prompt_never_sent_is_an_error():
    assert run(b.exchange()).status == Status.ERROR


def test_connect_tunnel_without_a_request_warns():
    tunnel = b.to_host(
        "collector.example", kind="connect", method="CONNECT", path="", error="tunnel still open"
    )
    result = run(asked(), tunnel)
    assert result.status == Status.WARN
    assert "content not observed" in result.summary


def test_prompt_text_to_the_declared_key_store_still_fails():
    vault = b.to_host("vault.internal.example", request_body=PROMPT.value.encode())
    sent = asked()
    step = b.step("prompt", exchange_ids=[sent.id, vault.id])
    bundle = b.bundle(
        canaries=TABLE,
        target=b.target(key_store_hosts=["vault.internal.example"]),
        steps=[step],
        exchanges=[sent, vault],
    )
    assert no_text_to_third_party.run(bundle).status == Status.FAIL

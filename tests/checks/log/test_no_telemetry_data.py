from byok_audit.checks.log.no_telemetry_data import no_telemetry_data
from byok_audit.models.canary import CanaryTable
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
KEY = TABLE.key("alice-1", "alice")


def run(*exchanges):
    step = b.step("prompt", exchange_ids=[e.id for e in exchanges])
    return no_telemetry_data.run(b.bundle(canaries=TABLE, steps=[step], exchanges=list(exchanges)))


def test_heartbeat_without_user_data_passes_and_is_listed():
    ping = b.to_host("telemetry.vendor.example", request_body=b'{"version": "1.2", "uptime": 5}')
    result = run(b.keyed(KEY), ping, ping.model_copy(update={"id": 999}))
    assert result.status == Status.PASS
    assert "telemetry.vendor.example (2)" in result.summary


def test_only_provider_traffic_passes():
    result = run(b.keyed(KEY))
    assert result.status == Status.PASS
    assert "no third-party host" in result.summary


def test_query_key_in_a_span_fails():
    span = b.to_host(
        "otlp.vendor.example",
        request_body=f'{{"http.url": "https://api.example/v1?key={KEY.value}"}}'.encode(),
    )
    result = run(b.keyed(KEY), span)
    assert result.status == Status.FAIL
    assert "otlp.vendor.example (1 request)" in result.summary


def test_no_prompt_step_is_an_error():
    assert no_telemetry_data.run(b.bundle(canaries=TABLE)).status == Status.ERROR


def test_blocked_connection_to_a_third_party_warns():
    blocked = b.to_host("203.0.113.9", kind="blocked", sni=None, host_header=None, error="blocked")
    result = run(b.keyed(KEY), blocked)
    assert result.status == Status.WARN
    assert "content not observed" in result.summary


def test_key_store_receives_the_key_but_never_the_prompt():
    prompt = TABLE.get("prompt")
    vault = b.to_host("vault.internal.example", request_body=KEY.value.encode())
    target = b.target(key_store_hosts=["vault.internal.example"])
    step = b.step("prompt", exchange_ids=[vault.id])
    result = no_telemetry_data.run(
        b.bundle(canaries=TABLE, target=target, steps=[step], exchanges=[vault])
    )
    assert result.status == Status.PASS
    leaky = vault.model_copy(update={"request_body": (KEY.value + prompt.value).encode()})
    result = no_telemetry_data.run(
        b.bundle(canaries=TABLE, target=target, steps=[step], exchanges=[leaky])
    )
    assert result.status == Status.FAIL

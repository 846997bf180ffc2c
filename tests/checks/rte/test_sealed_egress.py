from byok_audit.checks.rte.sealed_egress import sealed_egress
from byok_audit.models.canary import CanaryRole, CanaryTable
from byok_audit.models.evidence import HarnessInfo
from byok_audit.models.finding import Status
from tests import builders as b

SEALED = HarnessInfo(engine="test", sealed_egress=True, seal="netns X, TUN byoktest")


def sealed_bundle(*exchanges, canaries=None):
    return b.bundle(
        canaries=canaries,
        harness=SEALED,
        steps=[b.step("prompt")],
        exchanges=[b.exchange(), *exchanges],
    )


def test_not_applicable_without_sealed_egress():
    result = sealed_egress.run(b.bundle(steps=[b.step("prompt")]))
    assert result.status == Status.NOT_APPLICABLE
    assert "--sealed" in result.summary and "HTTPS_PROXY" in result.summary


def test_a_seal_that_was_not_proven_is_not_applicable():
    harness = HarnessInfo(engine="test", sealed_egress=False, seal="verified at the start only")
    tun = b.exchange(via="tun", host="203.0.113.7")
    bundle = b.bundle(harness=harness, steps=[b.step("prompt")], exchanges=[tun])
    assert sealed_egress.run(bundle).status == Status.NOT_APPLICABLE


def test_all_traffic_via_proxy_passes_and_says_what_was_watched():
    call = b.exchange()
    bundle = b.bundle(
        harness=SEALED, steps=[b.step("prompt", exchange_ids=[call.id])], exchanges=[call]
    )
    result = sealed_egress.run(bundle)
    assert result.status == Status.PASS
    assert "api.anthropic.com" in result.summary
    assert "TUN byoktest" in result.summary


def test_blocked_direct_connection_fails():
    direct = b.exchange(kind="blocked", host="203.0.113.7", sni=None, host_header=None, port=443)
    result = sealed_egress.run(sealed_bundle(direct))
    assert result.status == Status.FAIL
    assert "203.0.113.7:443" in result.summary
    assert "refused" in result.summary


def test_a_connection_around_the_proxy_fails_naming_its_destination_and_names():
    direct = b.exchange(
        via="tun",
        host="198.18.0.1",
        resolved_name="o123.ingest.sentry.io",
        sni="o123.ingest.sentry.io",
        host_header="o123.ingest.sentry.io",
        path="/api/1/envelope/",
        request_body=b'{"event": "boot"}',
        answered_by="sink",
    )
    result = sealed_egress.run(sealed_bundle(direct))
    assert result.status == Status.FAIL
    assert "went around the proxy" in result.summary
    assert "o123.ingest.sentry.io (198.18.0.1:443)" in result.summary
    [ref] = result.evidence
    assert ref.ref.startswith(f"exchange {direct.id}: http to o123.ingest.sentry.io")
    assert "POST https://o123.ingest.sentry.io/api/1/envelope/, 17 B body" in ref.detail
    assert "SNI o123.ingest.sentry.io" in ref.detail


def test_a_key_sent_around_the_proxy_is_named_as_such():
    canaries = CanaryTable.fresh()
    key = canaries.key("alice-1", "alice")
    direct = b.exchange(
        via="tun",
        host="203.0.113.9",
        sni=None,
        host_header="203.0.113.9:8080",
        scheme="http",
        port=8080,
        request_headers=[("x-api-key", key.value)],
    )
    result = sealed_egress.run(sealed_bundle(direct, canaries=canaries))
    assert result.status == Status.FAIL
    assert result.summary.startswith("a user's API key left the platform outside the proxy")
    assert "203.0.113.9:8080" in result.summary
    assert key.value not in result.summary + "".join(r.detail for r in result.evidence)
    assert any("key:alice-1" in r.detail for r in result.evidence)


def test_a_dns_query_of_its_own_fails_and_a_prompt_in_the_name_is_named():
    canaries = CanaryTable.fresh()
    prompt = canaries.text("prompt", CanaryRole.PROMPT)
    query = b.exchange(
        kind="dns",
        via="tun",
        scheme="dns",
        host="203.0.113.53",
        port=53,
        method="A",
        path=f"{prompt.value}.exfil.example",
        sni=None,
        host_header=None,
        response_body=b"198.18.0.3",
    )
    result = sealed_egress.run(sealed_bundle(query, canaries=canaries))
    assert result.status == Status.FAIL
    assert result.summary.startswith("prompt text left the platform outside the proxy")
    assert "DNS 203.0.113.53:53" in result.summary
    assert "A query for" in result.evidence[0].detail
    assert "answered 198.18.0.3" in result.evidence[0].detail


def test_raw_tcp_around_the_proxy_reports_what_was_sent():
    raw = b.exchange(
        kind="tcp",
        via="tun",
        host="198.51.100.7",
        port=5432,
        sni=None,
        host_header=None,
        method="",
        path="",
        messages=[{"from_client": True, "content": b"\x00" * 40, "timestamp": 1100.0}],
    )
    result = sealed_egress.run(sealed_bundle(raw))
    assert result.status == Status.FAIL
    assert "198.51.100.7:5432" in result.summary
    assert "raw TCP, 40 B sent" in result.evidence[0].detail


def test_sealed_run_without_prompt_steps_is_an_error():
    assert sealed_egress.run(b.bundle(harness=SEALED)).status == Status.ERROR

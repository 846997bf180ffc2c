from byok_audit.checks.rte.sealed_egress import sealed_egress
from byok_audit.models.evidence import HarnessInfo
from byok_audit.models.finding import Status
from tests import builders as b

SEALED = HarnessInfo(engine="test", sealed_egress=True)


def test_not_applicable_without_sealed_egress():
    result = sealed_egress.run(b.bundle(steps=[b.step("prompt")]))
    assert result.status == Status.NOT_APPLICABLE
    assert "sealed egress" in result.summary


def test_all_traffic_via_proxy_passes():
    call = b.exchange()
    bundle = b.bundle(
        harness=SEALED, steps=[b.step("prompt", exchange_ids=[call.id])], exchanges=[call]
    )
    result = sealed_egress.run(bundle)
    assert result.status == Status.PASS
    assert "api.anthropic.com" in result.summary


def test_blocked_direct_connection_fails():
    direct = b.exchange(kind="blocked", host="203.0.113.7", sni=None, host_header=None, port=443)
    bundle = b.bundle(harness=SEALED, steps=[b.step("prompt")], exchanges=[b.exchange(), direct])
    result = sealed_egress.run(bundle)
    assert result.status == Status.FAIL
    assert "203.0.113.7:443" in result.summary


def test_sealed_run_without_prompt_steps_is_an_error():
    assert sealed_egress.run(b.bundle(harness=SEALED)).status == Status.ERROR

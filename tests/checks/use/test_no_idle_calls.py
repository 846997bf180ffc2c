from byok_audit.checks.use.no_idle_calls import no_idle_calls
from byok_audit.models.canary import CanaryTable
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
KEY = TABLE.key("alice-1", "alice")


def run(*exchanges, idle=True):
    prompt_call = b.keyed(KEY, started=1000.2)
    steps = [b.step("prompt", 0, exchange_ids=[prompt_call.id])]
    if idle:
        steps.append(b.step("idle", 1, params={"seconds": 4}, started=1001.0, ended=1005.0))
    return no_idle_calls.run(
        b.bundle(canaries=TABLE, steps=steps, exchanges=[prompt_call, *exchanges])
    )


def test_quiet_idle_window_passes():
    health = b.to_host("status.vendor.example", started=1002.0)
    result = run(health)
    assert result.status == Status.PASS
    assert "1 idle window (4.0 s)" in result.summary
    assert "1 exchange without a key" in result.summary


def test_key_used_while_idle_fails():
    sneaky = b.keyed(KEY, path="/v1/models", method="GET", started=1003.0)
    result = run(sneaky)
    assert result.status == Status.FAIL
    assert "idle step 1" in result.evidence[0].detail


def test_key_used_between_steps_warns():
    assert run(b.keyed(KEY, started=1000.8)).status == Status.WARN


def test_no_idle_step_is_an_error():
    assert run(idle=False).status == Status.ERROR

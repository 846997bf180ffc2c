from byok_audit.checks.use.no_idle_calls import no_idle_calls
from byok_audit.models.canary import Canary, CanaryRole, CanaryTable, mint_anthropic_key
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
KEY = TABLE.key("alice-1", "alice")
SUBMITTED = TABLE.add(
    Canary(id="bad-oversized", role=CanaryRole.KEY, value=mint_anthropic_key(), user="alice")
)


def run(*idle_calls, idle=True, later=(), owned=()):
    """alice prompts (one keyed call) and idles (making ``idle_calls``); the ``later`` steps follow;
    ``owned`` are further exchanges, attributed to whichever step lists them (or to none)."""
    prompt_call = b.keyed(KEY, started=1000.2)
    steps = [b.step("prompt", 0, exchange_ids=[prompt_call.id])]
    if idle:
        ids = [e.id for e in idle_calls]
        steps.append(
            b.step("idle", 1, params={"seconds": 4}, started=1001.0, ended=1005.0, exchange_ids=ids)
        )
    exchanges = [prompt_call, *idle_calls, *owned]
    return no_idle_calls.run(b.bundle(canaries=TABLE, steps=[*steps, *later], exchanges=exchanges))


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


def test_key_used_outside_every_step_fails():
    stray = b.keyed(KEY, started=999.0)
    result = run(owned=[stray])
    assert result.status == Status.FAIL
    assert "outside every step" in result.evidence[0].detail


def test_key_validated_on_save_passes():
    check = b.keyed(KEY, method="GET", path="/v1/models", started=1010.2)
    save = b.step("put_key", 10, user="alice", params={"key": KEY.id}, exchange_ids=[check.id])
    assert run(owned=[check], later=[save]).status == Status.PASS


def test_key_used_while_reading_the_key_fails():
    probe = b.keyed(KEY, method="GET", path="/v1/models", started=1010.2)
    read = b.step("get_key", 10, user="alice", exchange_ids=[probe.id])
    result = run(owned=[probe], later=[read])
    assert result.status == Status.FAIL
    assert "get_key step 10" in result.evidence[0].detail


def test_key_used_after_a_restart_fails():
    warmup = b.keyed(KEY, started=1010.2)
    restart = b.step("restart", 10, exchange_ids=[warmup.id])
    assert run(owned=[warmup], later=[restart]).status == Status.FAIL


def test_unknown_model_prompt_may_reach_the_provider():
    forwarded = b.keyed(KEY, started=1010.2)
    unknown = b.step(
        "bad_input", 10, user="alice", params={"kind": "unknown_model"}, exchange_ids=[forwarded.id]
    )
    assert run(owned=[forwarded], later=[unknown]).status == Status.PASS


def test_bad_input_sending_only_the_submitted_key_is_left_to_the_api_checks():
    validated = b.keyed(SUBMITTED, started=1010.2)
    oversized = b.step(
        "bad_input",
        10,
        user="alice",
        params={"kind": "oversized_body"},
        data={"canary": SUBMITTED.id},
        exchange_ids=[validated.id],
    )
    assert run(owned=[validated], later=[oversized]).status == Status.PASS
    stored = b.keyed(KEY, started=1010.3)
    oversized = oversized.model_copy(update={"exchange_ids": [stored.id]})
    assert run(owned=[stored], later=[oversized]).status == Status.FAIL


def test_no_idle_step_is_an_error():
    assert run(idle=False).status == Status.ERROR


def test_key_read_from_the_declared_key_store_passes_but_not_while_idle():
    def vault(started):
        return b.to_host("vault.internal.example", started=started, request_body=KEY.value.encode())

    fetch = vault(1010.2)
    read = b.step("get_key", 10, user="alice", exchange_ids=[fetch.id])
    target = b.target(key_store_hosts=["vault.internal.example"])
    steps = [b.step("idle", 1, params={"seconds": 4}), read]
    bundle = b.bundle(canaries=TABLE, target=target, steps=steps, exchanges=[fetch])
    assert no_idle_calls.run(bundle).status == Status.PASS
    idle_fetch = vault(1002.0)
    steps = [b.step("idle", 1, params={"seconds": 4}, exchange_ids=[idle_fetch.id])]
    bundle = b.bundle(canaries=TABLE, target=target, steps=steps, exchanges=[idle_fetch])
    assert no_idle_calls.run(bundle).status == Status.FAIL

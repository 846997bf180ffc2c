import hashlib

from byok_audit.checks.log.no_key_in_logs import no_key_in_logs
from byok_audit.models.canary import CanaryTable
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
KEY = TABLE.key("alice-1", "alice")


def run(*files, exchanges=()):
    steps = [b.step("put_key", params={"key": KEY.id}, user="alice")]
    return no_key_in_logs.run(
        b.bundle(canaries=TABLE, steps=steps, exchanges=list(exchanges), files=list(files))
    )


def test_display_suffix_alone_is_allowed():
    result = run(b.captured(f'{{"event": "key_saved", "last4": "{KEY.value[-4:]}"}}\n'))
    assert result.status == Status.PASS
    assert "no key, key fragment or key digest" in result.summary


def test_key_fragment_in_a_log_fails():
    result = run(b.captured(f"saved key {KEY.value[:24]}...\n"))
    assert result.status == Status.FAIL
    assert "fragment" in result.evidence[0].detail


def test_unsalted_digest_in_a_log_fails():
    digest = hashlib.sha256(KEY.value.encode()).hexdigest()
    assert run(b.captured(f"key_id={digest}\n")).status == Status.FAIL


def test_key_in_a_header_dump_sent_to_telemetry_fails():
    dump = f"Headers({{'x-api-key': '{KEY.value}'}})".encode()
    assert (
        run(b.captured("\n"), exchanges=[b.to_host("sentry.example", request_body=dump)]).status
        == Status.FAIL
    )


def test_no_key_stored_is_an_error():
    bundle = b.bundle(canaries=TABLE, files=[b.captured("x\n")])
    assert no_key_in_logs.run(bundle).status == Status.ERROR


def test_a_declared_log_that_is_missing_is_an_error_naming_it():
    gone = b.captured("", "keys.log").model_copy(update={"missing": True})
    result = run(b.captured("ok\n"), gone)
    assert result.status == Status.ERROR
    assert "keys.log" in result.summary


def with_key_store(action: str, body: bytes):
    vault = b.to_host("vault.internal.example", request_body=body)
    steps = [b.step(action, 0, user="alice", params={"key": KEY.id}, exchange_ids=[vault.id])]
    if action != "put_key":
        steps.insert(0, b.step("put_key", -1, user="alice", params={"key": KEY.id}))
    return b.bundle(
        canaries=TABLE,
        target=b.target(key_store_hosts=["vault.internal.example"]),
        steps=steps,
        exchanges=[vault],
        files=[b.captured("ok\n")],
    )


def test_key_written_to_the_declared_key_store_is_no_log_leak():
    assert no_key_in_logs.run(with_key_store("put_key", KEY.value.encode())).status == Status.PASS


def test_key_sent_to_the_key_store_while_idle_is_a_leak():
    assert no_key_in_logs.run(with_key_store("idle", KEY.value.encode())).status == Status.FAIL

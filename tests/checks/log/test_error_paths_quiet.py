import json

import brotli

from byok_audit.checks.log.error_paths_quiet import error_paths_quiet
from byok_audit.models.canary import Canary, CanaryRole, CanaryTable, mint_anthropic_key
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
KEY = TABLE.key("alice-1", "alice")
BAD = TABLE.add(Canary(id="bad-1", role=CanaryRole.KEY, value=mint_anthropic_key()[:-9] + "!!"))


def run(*files, reply=b'{"detail": "invalid key"}', with_error_steps=True):
    failed = b.keyed(KEY, response_status=500, fault="500")
    steps = [
        b.step("prompt", 0, exchange_ids=[failed.id], outcome="refused", data={"fault": "500"})
    ]
    if with_error_steps:
        call = b.call("PUT", "http://t/api/v1/claude-key", status=422, response_body=reply)
        steps.append(
            b.step(
                "bad_input",
                1,
                user="alice",
                params={"kind": "malformed_key"},
                calls=[call],
                data={"canary": BAD.id},
            )
        )
    else:
        steps = [b.step("prompt", 0, exchange_ids=[failed.id])]
        failed = failed.model_copy(update={"fault": None})
    return error_paths_quiet.run(
        b.bundle(canaries=TABLE, steps=steps, exchanges=[failed], files=list(files))
    )


def test_quiet_error_paths_pass():
    result = run(b.captured('{"status": 502, "error": "upstream_500"}\n'))
    assert result.status == Status.PASS
    assert "provider fault 500" in result.summary and "bad input malformed_key" in result.summary


def test_validation_error_echoing_the_key_fails():
    echo = json.dumps(
        {"detail": [{"type": "string_pattern_mismatch", "input": BAD.value}]}
    ).encode()
    result = run(b.captured("\n"), reply=echo)
    assert result.status == Status.FAIL
    assert result.evidence[0].kind == "api"
    assert BAD.value not in result.model_dump_json()


def test_exception_dump_in_the_log_fails():
    dump = f"ERROR upstream failed: headers={{'x-api-key': '{KEY.value}'}}\n"
    assert run(b.captured(dump)).status == Status.FAIL


def test_no_error_path_step_is_an_error():
    result = run(b.captured("\n"), with_error_steps=False)
    assert result.status == Status.ERROR


def test_fault_prompt_answered_with_a_5xx_counts_as_an_error_path():
    failed = b.keyed(KEY, response_status=529, fault="529")
    relayed = b.call(status=502, response_body=b'{"detail": "provider overloaded"}')
    step = b.step("prompt", 0, exchange_ids=[failed.id], outcome="error", calls=[relayed])
    bundle = b.bundle(canaries=TABLE, steps=[step], exchanges=[failed], files=[b.captured("\n")])
    result = error_paths_quiet.run(bundle)
    assert result.status == Status.PASS
    assert "provider fault 529" in result.summary


def test_a_declared_log_that_is_missing_is_an_error_naming_it():
    gone = b.captured("", "errors.log").model_copy(update={"missing": True})
    result = run(b.captured("\n"), gone)
    assert result.status == Status.ERROR
    assert "errors.log" in result.summary


def test_validation_error_echoing_the_key_in_a_brotli_reply_fails():
    echo = json.dumps({"detail": [{"input": BAD.value, "msg": "invalid key"}] * 3}).encode()
    compressed = brotli.compress(echo)
    assert BAD.value.encode() not in compressed
    call = b.call(
        "PUT",
        "http://t/api/v1/claude-key",
        status=422,
        response_body=compressed,
        response_headers=[("content-encoding", "br")],
    )
    step = b.step(
        "bad_input",
        0,
        user="alice",
        params={"kind": "malformed_key"},
        calls=[call],
        data={"canary": BAD.id},
    )
    bundle = b.bundle(canaries=TABLE, steps=[step], files=[b.captured("\n")])
    result = error_paths_quiet.run(bundle)
    assert result.status == Status.FAIL
    assert result.evidence[0].kind == "api"


def _recovered(reply: bytes):
    """A prompt under a 500 fault that the target answered 200 after retrying."""
    failed = b.keyed(KEY, response_status=500, fault="500")
    retried = b.keyed(KEY, response_status=200)
    answer = b.call(status=200, response_body=reply)
    step = b.step("prompt", 0, exchange_ids=[failed.id, retried.id], calls=[answer])
    bundle = b.bundle(
        canaries=TABLE, steps=[step], exchanges=[failed, retried], files=[b.captured("\n")]
    )
    return error_paths_quiet.run(bundle)


def test_a_prompt_answered_after_a_retry_may_carry_the_models_answer():
    answer = json.dumps({"content": [{"text": TABLE.get("response").value}]}).encode()
    assert _recovered(answer).status == Status.PASS


def test_a_key_in_a_recovered_answer_still_fails():
    answer = json.dumps({"content": [{"text": "ok"}], "debug": {"x-api-key": KEY.value}}).encode()
    assert _recovered(answer).status == Status.FAIL

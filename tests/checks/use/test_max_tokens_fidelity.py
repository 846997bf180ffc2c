import json

from byok_audit.checks.use.max_tokens_fidelity import max_tokens_fidelity
from byok_audit.models.finding import Status
from tests import builders as b


def run(asked, **fields):
    call = b.exchange(request_body=json.dumps({"model": "m", "messages": [], **fields}).encode())
    step = b.step("prompt", params={"model": "m", "max_tokens": asked}, exchange_ids=[call.id])
    return max_tokens_fidelity.run(b.bundle(steps=[step], exchanges=[call]))


def test_same_limit_passes():
    result = run(64, max_tokens=64)
    assert result.status == Status.PASS
    assert "the one upstream" in result.summary


def test_lower_limit_passes_with_a_note():
    result = run(64, max_tokens=32)
    assert result.status == Status.PASS
    assert "1 lowered" in result.summary


def test_inflated_limit_fails():
    result = run(64, max_tokens=8192)
    assert result.status == Status.FAIL
    assert "asked 64, sent 8192" in result.evidence[0].detail


def test_openai_field_names_are_read():
    assert run(64, max_completion_tokens=4096).status == Status.FAIL
    assert run(64, max_output_tokens=64).status == Status.PASS


def test_dropped_limit_fails():
    assert run(64).status == Status.FAIL


def test_no_step_with_max_tokens_is_an_error():
    call = b.exchange(request_body=b"{}")
    step = b.step("prompt", params={"model": "m"}, exchange_ids=[call.id])
    assert max_tokens_fidelity.run(b.bundle(steps=[step], exchanges=[call])).status == Status.ERROR


def test_second_call_after_the_reply_with_a_higher_limit_fails():
    reply = b.exchange(request_body=b'{"model": "m", "max_tokens": 64}', started=1000.1)
    extra = b.exchange(request_body=b'{"model": "m", "max_tokens": 4096}', started=1000.7)
    step = b.step(
        "prompt",
        0,
        params={"model": "m", "max_tokens": 64},
        calls=[b.call(status=200)],
        exchange_ids=[reply.id, extra.id],
    )
    result = max_tokens_fidelity.run(b.bundle(steps=[step], exchanges=[reply, extra]))
    assert result.status == Status.FAIL
    assert "asked 64, sent 4096" in result.evidence[0].detail


def test_successful_prompt_that_was_not_compared_warns():
    call = b.exchange(request_body=b'{"model": "m", "max_tokens": 64}')
    compared = b.step(
        "prompt",
        0,
        params={"model": "m", "max_tokens": 64},
        calls=[b.call(status=200)],
        exchange_ids=[call.id],
    )
    cached = b.step("prompt", 1, params={"model": "m", "max_tokens": 8}, calls=[b.call(status=200)])
    result = max_tokens_fidelity.run(b.bundle(steps=[compared, cached], exchanges=[call]))
    assert result.status == Status.WARN
    assert "step 1" in result.summary

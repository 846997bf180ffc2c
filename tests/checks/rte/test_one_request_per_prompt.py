from byok_audit.checks.rte.one_request_per_prompt import one_request_per_prompt
from byok_audit.models.finding import Status
from tests import builders as b

BODY = b'{"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": []}'


def run(*steps, exchanges):
    return one_request_per_prompt.run(b.bundle(steps=list(steps), exchanges=list(exchanges)))


def test_one_call_per_prompt_passes():
    first, second = b.exchange(request_body=BODY), b.exchange(request_body=BODY)
    result = run(
        b.step("prompt", 0, exchange_ids=[first.id]),
        b.step("prompt", 1, exchange_ids=[second.id]),
        exchanges=[first, second],
    )
    assert result.status == Status.PASS
    assert "each of 2 prompt steps" in result.summary


def test_two_successful_calls_for_one_prompt_fail():
    first = b.exchange(request_body=BODY, started=1.0)
    second = b.exchange(request_body=BODY, started=2.0)
    result = run(b.step("prompt", 0, exchange_ids=[first.id, second.id]), exchanges=[first, second])
    assert result.status == Status.FAIL
    assert any(f"exchange {second.id}" in e.ref for e in result.evidence)


def test_retry_after_429_with_same_body_is_reported_not_counted():
    limited = b.exchange(
        request_body=BODY, response_status=429, started=1.0, ended=1.5, fault="429"
    )
    retry = b.exchange(request_body=BODY.replace(b", ", b","), started=2.0)  # same JSON
    result = run(
        b.step("prompt", 0, exchange_ids=[limited.id, retry.id]), exchanges=[limited, retry]
    )
    assert result.status == Status.PASS
    assert "1 retry" in result.summary
    assert "retry after status 429" in result.evidence[0].detail


def test_second_call_after_failure_with_other_body_is_counted():
    failed = b.exchange(request_body=BODY, response_status=500, started=1.0, ended=1.5)
    other = b.exchange(request_body=BODY.replace(b"sonnet", b"haiku"), started=2.0)
    result = run(b.step("prompt", 0, exchange_ids=[failed.id, other.id]), exchanges=[failed, other])
    assert result.status == Status.FAIL


def test_count_tokens_and_non_provider_calls_are_not_counted():
    call = b.exchange(request_body=BODY, started=1.0)
    count = b.exchange(path="/v1/messages/count_tokens", started=0.5)
    telemetry = b.exchange(
        host="o1.ingest.sentry.io", sni=None, host_header=None, path="/api/1/envelope/"
    )
    result = run(
        b.step("prompt", 0, exchange_ids=[call.id, count.id, telemetry.id]),
        exchanges=[call, count, telemetry],
    )
    assert result.status == Status.PASS


def test_no_prompt_reaching_the_provider_is_an_error():
    result = run(b.step("prompt", 0, outcome="refused"), exchanges=[])
    assert result.status == Status.ERROR
    assert run(exchanges=[]).status == Status.ERROR


def test_hedged_duplicate_sent_before_the_first_attempt_ended_is_counted():
    slow = b.exchange(
        request_body=BODY, started=1.0, ended=5.0, response_status=None, error="cancelled"
    )
    hedge = b.exchange(request_body=BODY, started=2.0, ended=3.0)
    result = run(b.step("prompt", 0, exchange_ids=[slow.id, hedge.id]), exchanges=[slow, hedge])
    assert result.status == Status.FAIL
    assert "0 retries" in result.summary


def test_retry_of_an_attempt_that_never_ended_is_counted():
    hung = b.exchange(request_body=BODY, started=1.0, ended=None, response_status=None)
    again = b.exchange(request_body=BODY, started=2.0, ended=2.5)
    result = run(b.step("prompt", 0, exchange_ids=[hung.id, again.id]), exchanges=[hung, again])
    assert result.status == Status.FAIL


def answered(status=200):
    return [b.call(status=status)]


def test_title_generation_fired_after_the_reply_is_a_duplicate():
    reply = b.exchange(request_body=BODY, started=1000.1, ended=1000.4)
    title = b.exchange(
        request_body=BODY.replace(b"64", b"16"), started=1000.6, ended=1000.9
    )  # after the step's reply (step ends at 1000.5) but before the next step starts
    step = b.step("prompt", 0, calls=answered(), exchange_ids=[reply.id, title.id])
    result = run(step, b.step("idle", 1), exchanges=[reply, title])
    assert result.status == Status.FAIL
    assert any(f"exchange {title.id}" in e.ref for e in result.evidence)


def test_successful_prompt_without_a_provider_call_warns_naming_it():
    call = b.exchange(request_body=BODY)
    served = b.step("prompt", 0, calls=answered(), exchange_ids=[call.id])
    cached = b.step("prompt", 1, calls=answered())
    result = run(served, cached, exchanges=[call])
    assert result.status == Status.WARN
    assert "step 1" in result.summary
    assert any(e.ref.startswith("step 1") for e in result.evidence)


def test_refused_prompt_without_a_provider_call_is_not_a_warning():
    call = b.exchange(request_body=BODY)
    served = b.step("prompt", 0, calls=answered(), exchange_ids=[call.id])
    refused = b.step("prompt", 1, calls=answered(400), outcome="refused")
    assert run(served, refused, exchanges=[call]).status == Status.PASS

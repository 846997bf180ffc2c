import json

from byok_audit.checks.api.malformed_key_rejected import malformed_key_rejected
from byok_audit.models.canary import Canary, CanaryRole, CanaryTable
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
KEY = TABLE.key("alice-1", "alice")
SHORT = TABLE.add(Canary(id="bad-1", role=CanaryRole.KEY, value=KEY.value[:13] + "x9Qk2LmN8vB4"))


def run(**changes):
    return malformed_key_rejected.run(
        b.bad_input_run(TABLE, KEY, "malformed_key", SHORT, **changes)
    )


def answer(status, body=b'{"detail": "not an Anthropic API key"}'):
    return b.call("PUT", "http://t/api/v1/claude-key", status=status, response_body=body)


def test_refused_and_not_stored_passes():
    result = run()
    assert result.status == Status.PASS
    assert "malformed_key → 400" in result.summary


def test_accepted_malformed_key_fails():
    result = run(answer=answer(200))
    assert result.status == Status.FAIL
    assert "accepted malformed_key with 200" in result.evidence[0].detail


def test_server_error_is_not_a_refusal():
    assert run(answer=answer(500)).status == Status.FAIL


def test_stored_malformed_key_fails():
    result = run(answer=answer(200), shown_after=SHORT)
    details = " ".join(e.detail for e in result.evidence)
    assert "it was stored" in details and "no longer shows" in details


def test_malformed_key_sent_upstream_fails():
    used = b.exchange(request_headers=[("x-api-key", SHORT.value)])
    assert run(prompt_after=used).status == Status.FAIL


def test_echoed_value_fails():
    echo = json.dumps({"detail": [{"msg": "bad", "input": SHORT.value}]}).encode()
    result = run(answer=answer(422, echo))
    assert result.status == Status.FAIL
    assert "echoes" in result.evidence[0].detail


def test_missing_steps_or_answers_are_errors():
    assert malformed_key_rejected.run(b.bundle(canaries=TABLE)).status == Status.ERROR
    silent = b.call("PUT", "http://t/k", status=None, error="timed out")
    assert run(answer=silent).status == Status.ERROR


def test_a_5xx_the_runner_marked_error_is_still_judged():
    bundle = b.bad_input_run(TABLE, KEY, "malformed_key", SHORT, answer=answer(500))
    bundle.steps[2].outcome = "error"
    assert malformed_key_rejected.run(bundle).status == Status.FAIL

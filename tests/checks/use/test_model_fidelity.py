import gzip
import json

from byok_audit.checks.common import same_model
from byok_audit.checks.use.model_fidelity import model_fidelity
from byok_audit.models.finding import Status
from tests import builders as b


def run(chosen: str, *bodies: bytes, **exchange_fields):
    exchanges = [b.exchange(request_body=body, **exchange_fields) for body in bodies]
    step = b.step("prompt", params={"model": chosen}, exchange_ids=[e.id for e in exchanges])
    return model_fidelity.run(b.bundle(steps=[step], exchanges=exchanges))


def body(model: str) -> bytes:
    return json.dumps({"model": model, "max_tokens": 64, "messages": []}).encode()


def test_chosen_model_passes():
    result = run("claude-sonnet-4-5", body("claude-sonnet-4-5"))
    assert result.status == Status.PASS
    assert "claude-sonnet-4-5" in result.summary


def test_gzip_encoded_request_is_read():
    compressed = gzip.compress(body("claude-haiku-4-5"))
    result = run("claude-sonnet-4-5", compressed, request_headers=[("Content-Encoding", "gzip")])
    assert result.status == Status.FAIL


def test_substituted_model_fails():
    result = run("claude-opus-4-1", body("claude-haiku-4-5"))
    assert result.status == Status.FAIL
    assert "'claude-haiku-4-5'" in result.evidence[0].detail


def test_alias_resolved_to_dated_snapshot_is_the_same_model():
    assert same_model("claude-sonnet-4-5", "claude-sonnet-4-5-20250929")
    assert not same_model("claude-sonnet-4", "claude-sonnet-4-5")
    assert not same_model("claude-sonnet-4-5", "claude-sonnet-4-5-turbo")


def test_unreadable_model_warns():
    assert run("claude-sonnet-4-5", b"not json").status == Status.WARN


def test_no_upstream_call_is_an_error():
    step = b.step("prompt", params={"model": "claude-sonnet-4-5"})
    assert model_fidelity.run(b.bundle(steps=[step])).status == Status.ERROR


def answered():
    return [b.call(status=200)]


def test_second_call_after_the_reply_with_another_model_fails():
    reply = b.exchange(request_body=body("claude-opus-4-1"), started=1000.1)
    title = b.exchange(request_body=body("claude-haiku-4-5"), started=1000.7)
    step = b.step(
        "prompt",
        0,
        params={"model": "claude-opus-4-1"},
        calls=answered(),
        exchange_ids=[reply.id, title.id],
    )
    result = model_fidelity.run(b.bundle(steps=[step], exchanges=[reply, title]))
    assert result.status == Status.FAIL
    assert "'claude-haiku-4-5'" in result.evidence[0].detail


def test_successful_prompt_that_was_not_compared_warns_and_is_not_listed():
    call = b.exchange(request_body=body("claude-sonnet-4-5"))
    compared = b.step(
        "prompt", 0, params={"model": "claude-sonnet-4-5"}, calls=answered(), exchange_ids=[call.id]
    )
    cached = b.step("prompt", 1, params={"model": "claude-opus-4-1"}, calls=answered())
    result = model_fidelity.run(b.bundle(steps=[compared, cached], exchanges=[call]))
    assert result.status == Status.WARN
    assert "claude-opus-4-1" not in result.summary
    assert "step 1" in result.summary

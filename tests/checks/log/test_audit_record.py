import json
from datetime import UTC, datetime

from byok_audit.checks.log.audit_record import audit_record
from byok_audit.models.finding import Status
from tests import builders as b

MODEL = "claude-sonnet-4-5"


def at(step_index: int) -> str:
    """An ISO time inside the window of builder step ``step_index`` (started 1000 + index)."""
    return datetime.fromtimestamp(1000.2 + step_index, UTC).isoformat()


def record(model=MODEL, step=0, **extra):
    fields = {
        "ts": at(step),
        "user": "u1",
        "model": model,
        "usage": {"input_tokens": 12, "output_tokens": 7},
        "latency_ms": 85,
        "status": 200,
    }
    return json.dumps({**fields, **extra})


def run(log: str, *models: str, missing=False):
    steps = [b.step("prompt", i, params={"model": m}) for i, m in enumerate(models or (MODEL,))]
    files = [b.captured(log)] if not missing else []
    return audit_record.run(b.bundle(steps=steps, files=files))


def test_one_full_record_per_request_passes():
    log = "\n".join(["INFO starting", record(), "INFO app: " + record("claude-haiku-4-5", step=1)])
    result = run(log, MODEL, "claude-haiku-4-5")
    assert result.status == Status.PASS
    assert {e.ref for e in result.evidence} == {"app.log:2", "app.log:3"}


def test_key_value_records_count():
    line = f"ts={at(0)} user=u1 model={MODEL}-20250929 input_tokens=12 output_tokens=7 duration_ms=85 status=ok"
    assert run(line).status == Status.PASS


def test_record_missing_optional_fields_warns():
    result = run(json.dumps({"model": MODEL, "tokens": 19, "status": 200}))
    assert result.status == Status.WARN
    assert "latency, time, user" in result.summary


def test_a_request_without_record_fails():
    result = run(record(), MODEL, MODEL)
    assert result.status == Status.FAIL
    assert "1 of 2" in result.summary


def test_a_refused_requests_record_is_not_taken_for_a_later_completed_one():
    steps = [
        b.step("prompt", 0, params={"model": MODEL}),
        b.step("prompt", 1, params={"model": MODEL}, outcome="refused"),
        b.step("prompt", 2, params={"model": MODEL}),
    ]
    log = "\n".join([record(step=0), record(step=1, status=429), record(step=2)])
    result = audit_record.run(b.bundle(steps=steps, files=[b.captured(log)]))
    assert result.status == Status.PASS
    assert {e.ref for e in result.evidence} == {"app.log:1", "app.log:3"}


def test_a_record_written_outside_the_request_does_not_count():
    assert run(record(step=5)).status == Status.FAIL


def test_record_without_token_counts_does_not_count():
    assert run(json.dumps({"model": MODEL, "status": 200, "user": "u1"})).status == Status.FAIL


def test_unstructured_logs_fail_with_explanation():
    result = run("INFO handled request for u1 in 85 ms\nINFO done\n")
    assert result.status == Status.FAIL
    assert "no structured audit records" in result.summary


def test_records_must_follow_request_order():
    log = "\n".join([record("claude-haiku-4-5"), record(MODEL)])
    assert run(log, MODEL, "claude-haiku-4-5").status == Status.FAIL


def test_no_log_sources_is_an_error():
    result = run("", missing=True)
    assert result.status == Status.ERROR
    assert "no log sources" in result.summary

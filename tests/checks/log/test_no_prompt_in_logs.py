import json

from byok_audit.checks.log.no_prompt_in_logs import no_prompt_in_logs
from byok_audit.models.canary import CanaryTable
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
PROMPT = TABLE.get("prompt")


def run(*files, exchanges=()):
    sent = b.exchange(request_body=json.dumps({"messages": [{"content": PROMPT.value}]}).encode())
    step = b.step("prompt", exchange_ids=[sent.id])
    bundle = b.bundle(canaries=TABLE, steps=[step], exchanges=[sent, *exchanges], files=list(files))
    return no_prompt_in_logs.run(bundle)


def test_metadata_only_logs_pass():
    result = run(b.captured('{"model": "m", "status": 200}\n'), b.captured("", "stdout", "stdout"))
    assert result.status == Status.PASS
    assert "scanned 2 log sources" in result.summary


def test_debug_log_with_the_prompt_fails_with_file_and_line():
    log = "INFO start\nDEBUG Request options: {'json_data': {'messages': [{'content': '%s'}]}}\n"
    result = run(b.captured(log % PROMPT.value, "server.log"))
    assert result.status == Status.FAIL
    assert result.evidence[0].ref == "server.log:2"
    assert PROMPT.value not in result.model_dump_json()


def test_utf16_prompt_on_stderr_fails():
    wide = f"prompt={PROMPT.value}\n".encode("utf-16-le")
    assert run(b.captured(wide, "stderr", "stderr")).status == Status.FAIL


def test_prompt_in_a_telemetry_request_fails():
    beacon = b.to_host("o1.ingest.sentry.io", request_body=PROMPT.value.encode())
    assert run(b.captured("ok\n"), exchanges=[beacon]).status == Status.FAIL


def test_no_log_source_is_an_error():
    result = run()
    assert result.status == Status.ERROR
    missing = b.captured("", "app.log").model_copy(update={"missing": True})
    assert "declared but not found: app.log" in run(missing).summary


def test_a_declared_log_that_is_missing_is_an_error_naming_it():
    gone = b.captured("", "audit.log").model_copy(update={"missing": True})
    result = run(b.captured("ok\n"), gone)
    assert result.status == Status.ERROR
    assert "audit.log" in result.summary


def test_empty_sources_pass_but_say_nothing_was_scanned():
    result = run(b.captured(""), b.captured("", "stderr", "stderr"))
    assert result.status == Status.PASS
    assert "0 B" in result.summary

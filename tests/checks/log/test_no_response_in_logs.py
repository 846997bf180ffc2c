import zlib

from byok_audit.checks.log.no_response_in_logs import no_response_in_logs
from byok_audit.models.canary import CanaryTable
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
RESPONSE = TABLE.get("response")


def run(*files, answered=True):
    body = b'{"content": [{"type": "text", "text": "%s"}]}' % RESPONSE.value.encode()
    reply = b.exchange(response_body=body if answered else b"{}")
    step = b.step("prompt", exchange_ids=[reply.id])
    return no_response_in_logs.run(
        b.bundle(canaries=TABLE, steps=[step], exchanges=[reply], files=list(files))
    )


def test_logs_without_the_answer_pass():
    assert run(b.captured('{"output_tokens": 7}\n')).status == Status.PASS


def test_logged_answer_fails():
    result = run(b.captured(f"INFO reply: {RESPONSE.value}\n"))
    assert result.status == Status.FAIL
    assert result.evidence[0].ref == "app.log:1"


def test_no_answer_observed_is_an_error():
    assert run(b.captured("x\n"), answered=False).status == Status.ERROR


def test_a_declared_log_that_is_missing_is_an_error_naming_it():
    gone = b.captured("", "worker.log").model_copy(update={"missing": True})
    result = run(b.captured("ok\n"), gone)
    assert result.status == Status.ERROR
    assert "worker.log" in result.summary


def test_answer_relayed_in_a_compressed_reply_counts_as_answered():
    text = b'{"content": [{"type": "text", "text": "%s"}]}' % RESPONSE.value.encode()
    raw_deflate = zlib.compress(text * 3)[2:-4]  # no zlib header: nothing to sniff
    assert RESPONSE.value.encode() not in raw_deflate
    relayed = b.call(response_body=raw_deflate, response_headers=[("content-encoding", "deflate")])
    step = b.step("prompt", calls=[relayed])
    bundle = b.bundle(canaries=TABLE, steps=[step], files=[b.captured("ok\n")])
    assert no_response_in_logs.run(bundle).status == Status.PASS

from byok_audit.checks.api.no_key_in_query import no_key_in_query
from byok_audit.models.canary import CanaryTable
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
KEY = TABLE.key("alice-1", "alice")
QUERY_KEY = TABLE.key("alice-query", "alice")


def run(status=400, **changes):
    url = f"http://t/api/v1/claude-key?key={QUERY_KEY.value}"
    answer = b.call("PUT", url, status=status)
    return no_key_in_query.run(
        b.bad_input_run(TABLE, KEY, "key_in_query", QUERY_KEY, answer=answer, **changes)
    )


def test_refused_query_key_passes():
    result = run()
    assert result.status == Status.PASS
    assert "refused (400)" in result.summary


def test_accepted_query_key_fails_twice_over():
    result = run(status=200, shown_after=QUERY_KEY)
    details = [e.detail for e in result.evidence]
    assert result.status == Status.FAIL
    assert any("accepted a key in the URL query" in d for d in details)
    assert any("it was stored" in d for d in details)


def test_query_key_used_later_fails():
    used = b.exchange(request_headers=[("x-api-key", QUERY_KEY.value)])
    assert run(prompt_after=used).status == Status.FAIL


def test_without_the_key_in_query_step_is_an_error():
    assert no_key_in_query.run(b.bundle(canaries=TABLE)).status == Status.ERROR

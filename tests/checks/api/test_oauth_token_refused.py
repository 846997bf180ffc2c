import gzip

from byok_audit.checks.api.oauth_token_refused import oauth_token_refused
from byok_audit.models.canary import Canary, CanaryRole, CanaryTable, mint_oauth_token
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
KEY = TABLE.key("alice-1", "alice")
TOKEN = TABLE.add(Canary(id="oauth-1", role=CanaryRole.OAUTH_TOKEN, value=mint_oauth_token()))
EXPLAINED = (
    b'{"detail": "Claude subscription OAuth tokens cannot be used here; paste a Console API key"}'
)


def run(status=400, body=EXPLAINED, **changes):
    answer = b.call("PUT", "http://t/api/v1/claude-key", status=status, response_body=body)
    return oauth_token_refused.run(
        b.bad_input_run(TABLE, KEY, "oauth_token", TOKEN, answer=answer, **changes)
    )


def test_explained_refusal_passes():
    result = run()
    assert result.status == Status.PASS
    assert "(400)" in result.summary


def test_unexplained_refusal_warns():
    result = run(body=b'{"detail": "invalid key"}')
    assert result.status == Status.WARN
    assert "do not say why" in result.summary


def test_accepted_token_fails():
    assert run(status=201, shown_after=TOKEN).status == Status.FAIL


def test_token_sent_to_the_provider_fails():
    routed = b.exchange(request_headers=[("authorization", f"Bearer {TOKEN.value}")])
    result = run(prompt_after=routed)
    assert result.status == Status.FAIL
    assert any("sent out" in e.detail for e in result.evidence)


def test_no_oauth_step_is_an_error():
    assert oauth_token_refused.run(b.bundle(canaries=TABLE)).status == Status.ERROR


def test_explanation_in_a_compressed_refusal_is_read():
    answer = b.call(
        "PUT",
        "http://t/api/v1/claude-key",
        status=400,
        response_body=gzip.compress(EXPLAINED),
        response_headers=[("Content-Encoding", "gzip")],
    )
    result = oauth_token_refused.run(
        b.bad_input_run(TABLE, KEY, "oauth_token", TOKEN, answer=answer)
    )
    assert result.status == Status.PASS

from byok_audit.checks.rte.no_plain_http import no_plain_http
from byok_audit.models.canary import CanaryTable
from byok_audit.models.evidence import StreamMessage
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
KEY = TABLE.key("alice-1", "alice")


def run(*exchanges):
    step = b.step("prompt", exchange_ids=[e.id for e in exchanges])
    return no_plain_http.run(b.bundle(canaries=TABLE, steps=[step], exchanges=list(exchanges)))


def test_key_over_tls_passes():
    result = run(b.keyed(KEY), b.to_host("example.org", scheme="http", tls=False, port=80))
    assert result.status == Status.PASS
    assert "the one key-bearing" in result.summary


def test_key_over_plain_http_fails():
    clear = b.keyed(KEY, scheme="http", tls=False, port=80)
    result = run(clear)
    assert result.status == Status.FAIL
    assert "plain text" in result.evidence[0].detail


def test_no_key_bearing_exchange_is_an_error():
    assert run(b.exchange()).status == Status.ERROR


def test_key_in_a_plain_tcp_stream_fails():
    stream = b.to_host(
        "203.0.113.9",
        kind="tcp",
        scheme="",
        tls=False,
        sni=None,
        host_header=None,
        messages=[StreamMessage(from_client=True, content=KEY.value.encode(), timestamp=1100.0)],
    )
    result = run(b.keyed(KEY), stream)
    assert result.status == Status.FAIL
    assert "203.0.113.9" in result.summary


def test_key_sent_to_a_declared_key_store_in_plain_http_fails():
    vault = b.to_host(
        "vault.internal.example",
        scheme="http",
        tls=False,
        port=8200,
        request_body=KEY.value.encode(),
    )
    step = b.step("put_key", exchange_ids=[vault.id])
    bundle = b.bundle(
        canaries=TABLE,
        target=b.target(key_store_hosts=["vault.internal.example"]),
        steps=[step, b.step("prompt", 1)],
        exchanges=[vault],
    )
    assert no_plain_http.run(bundle).status == Status.FAIL

import base64
import json

import pytest

from byok_audit.checks.rte.key_only_to_provider import key_only_to_provider
from byok_audit.models.canary import CanaryTable
from byok_audit.models.evidence import StreamMessage
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
KEY = TABLE.key("alice-1", "alice")


def run(*exchanges):
    step = b.step("prompt", exchange_ids=[e.id for e in exchanges])
    return key_only_to_provider.run(
        b.bundle(canaries=TABLE, steps=[step], exchanges=list(exchanges))
    )


def test_key_only_to_the_provider_passes():
    heartbeat = b.to_host("o1.ingest.sentry.io", request_body=b'{"status": "ok"}')
    result = run(b.keyed(KEY), heartbeat)
    assert result.status == Status.PASS
    assert "api.anthropic.com" in result.summary
    assert "scanned 2 exchanges to 2 hosts" in result.summary


def test_base64_key_in_telemetry_fails():
    blob = json.dumps({"extra": base64.b64encode(KEY.value.encode()).decode()}).encode()
    result = run(b.keyed(KEY), b.to_host("o1.ingest.sentry.io", request_body=blob))
    assert result.status == Status.FAIL
    assert "o1.ingest.sentry.io" in result.summary
    assert "base64" in result.evidence[0].detail
    assert KEY.value not in result.model_dump_json()


def test_domain_fronted_request_counts_as_non_provider():
    fronted = b.keyed(KEY, host_header="openrouter.ai")
    assert run(fronted).status == Status.FAIL


def test_unreadable_third_party_connection_warns():
    pinned = b.to_host("telemetry.example", kind="tls_failed", error="client refused the CA")
    result = run(b.keyed(KEY), pinned)
    assert result.status == Status.WARN
    assert "telemetry.example" in result.summary


def test_no_key_ever_sent_is_an_error():
    result = run(b.exchange())
    assert result.status == Status.ERROR
    assert "not exercised" in result.summary


def test_fully_qualified_provider_name_with_trailing_dot_is_the_provider():
    dotted = b.keyed(KEY, host="api.anthropic.com.", sni="api.anthropic.com.")
    result = run(dotted)
    assert result.status == Status.PASS


def message(content: bytes, from_client: bool = True) -> StreamMessage:
    return StreamMessage(from_client=from_client, content=content, timestamp=1100.0)


def test_key_in_a_websocket_message_to_a_third_party_fails():
    socket = b.to_host("relay.example", path="/ws", messages=[message(KEY.value.encode())])
    result = run(b.keyed(KEY), socket)
    assert result.status == Status.FAIL
    assert "message" in result.evidence[0].detail


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("tcp", {}),
        ("tcp", {"messages": [message(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")]}),
        ("blocked", {"error": "blocked by byok-audit"}),
        ("connect", {"method": "CONNECT", "error": "client closed the tunnel without a request"}),
    ],
)
def test_connection_whose_content_was_not_observed_warns(kind, fields):
    unseen = b.to_host("203.0.113.9", kind=kind, sni=None, host_header=None, **fields)
    result = run(b.keyed(KEY), unseen)
    assert result.status == Status.WARN
    assert "203.0.113.9" in result.summary
    assert "content not observed" in result.summary


def test_raw_tcp_whose_plain_content_was_read_passes():
    readable = b.to_host(
        "metrics.example",
        kind="tcp",
        sni=None,
        host_header=None,
        messages=[message(b"PUT gauge.requests 1\n")],
    )
    assert run(b.keyed(KEY), readable).status == Status.PASS


VAULT = "vault.internal.example"


def stored(action: str, *, scheme: str = "https", tls: bool = True, declared=(VAULT,)):
    """alice's key written to (or read from) the secrets manager during one ``action`` step, then a
    prompt that uses it."""
    write = b.to_host(
        VAULT,
        path="/v1/secret/data/alice",
        scheme=scheme,
        tls=tls,
        request_body=f'{{"data": {{"key": "{KEY.value}"}}}}'.encode(),
    )
    use = b.keyed(KEY)
    steps = [
        b.step(action, 0, user="alice", exchange_ids=[write.id]),
        b.step("prompt", 1, user="alice", exchange_ids=[use.id]),
    ]
    return b.bundle(
        canaries=TABLE,
        target=b.target(key_store_hosts=list(declared)),
        steps=steps,
        exchanges=[write, use],
    )


@pytest.mark.parametrize("action", ["put_key", "get_key", "prompt", "delete_key"])
def test_key_sent_to_the_declared_key_store_while_handling_the_key_passes(action):
    result = key_only_to_provider.run(stored(action))
    assert result.status == Status.PASS
    assert VAULT in result.summary


def test_key_sent_to_the_key_store_outside_key_handling_fails():
    assert key_only_to_provider.run(stored("idle")).status == Status.FAIL


def test_key_sent_to_an_undeclared_key_store_fails():
    assert key_only_to_provider.run(stored("put_key", declared=())).status == Status.FAIL


def test_key_sent_to_the_key_store_in_plain_http_fails():
    assert (
        key_only_to_provider.run(stored("put_key", scheme="http", tls=False)).status == Status.FAIL
    )

"""POST /api/v1/messages end to end: real server, real TLS through a CONNECT proxy, fake provider."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_impl.keyring import generate_entry
from tests.reference_impl.fake_provider import PROVIDER_BODY_CANARY, FakeProvider
from tests.reference_impl.support import RefServer, assert_secret_absent, canary_key

pytestmark = pytest.mark.e2e

MODEL = "claude-haiku-4-5"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_provider: FakeProvider
) -> Iterator[RefServer]:
    ref = RefServer(
        tmp_path_factory.mktemp("messages"),
        master_keys=generate_entry(),
        # A base-URL variable must change nothing: the provider URL is a constant.
        env={**fake_provider.env(), "ANTHROPIC_BASE_URL": "http://127.0.0.1:9/router"},
        extra_args=["--upstream-timeout", "2"],
    ).start()
    yield ref
    ref.stop()


@pytest.fixture
def provider(fake_provider: FakeProvider) -> FakeProvider:
    fake_provider.reset()
    fake_provider.response_text = "fake provider reply"
    return fake_provider


def _ask(server: RefServer, headers: dict[str, str], **overrides: object):  # type: ignore[no-untyped-def]
    body = {
        "model": MODEL,
        "max_tokens": 321,
        "messages": [{"role": "user", "content": "hello there"}],
        **overrides,
    }
    with server.client() as client:
        return client.post("/api/v1/messages", json=body, headers=headers)


def _user_with_key(server: RefServer) -> tuple[str, dict[str, str], str]:
    user_id, headers = server.signup()
    key = canary_key()
    assert server.put_key(headers, key).status_code == 201
    return user_id, headers, key


def test_plain_call_goes_direct_with_the_exact_request(
    server: RefServer, provider: FakeProvider
) -> None:
    _, headers, key = _user_with_key(server)
    assert provider.calls == []  # storing a key makes no provider call
    response = _ask(server, headers, system="be brief", temperature=0.5)
    assert response.status_code == 200
    assert response.json()["content"][0]["text"] == "fake provider reply"
    (call,) = provider.calls
    assert call.path == "/v1/messages"
    assert call.headers["x-api-key"] == key
    assert call.headers["anthropic-version"] == "2023-06-01"
    assert call.json == {
        "model": MODEL,
        "max_tokens": 321,
        "messages": [{"role": "user", "content": "hello there"}],
        "system": "be brief",
        "temperature": 0.5,
    }
    assert provider.proxy.connects == ["api.anthropic.com:443"]
    assert provider.proxy.plain_requests == []


def test_streaming_is_relayed_byte_for_byte(server: RefServer, provider: FakeProvider) -> None:
    _, headers, key = _user_with_key(server)
    response = _ask(server, headers, stream=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == provider.last_stream
    (call,) = provider.calls
    assert call.json["stream"] is True and call.json["max_tokens"] == 321
    assert call.headers["x-api-key"] == key


ERRORS = {
    "401": (400, "provider_rejected_key"),
    "429": (429, "provider_rate_limited"),
    "500": (502, "provider_error"),
    "529": (503, "provider_overloaded"),
    "timeout": (504, "provider_timeout"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("mode", ERRORS)
def test_provider_errors_map_cleanly_without_retries(
    server: RefServer, provider: FakeProvider, mode: str, stream: bool
) -> None:
    _, headers, key = _user_with_key(server)
    provider.reset(mode)
    response = _ask(server, headers, stream=stream)
    status, kind = ERRORS[mode]
    assert response.status_code == status
    assert response.json()["error"]["type"] == kind
    assert len(provider.calls) == 1
    assert PROVIDER_BODY_CANARY not in response.text
    assert PROVIDER_BODY_CANARY not in server.output()
    if mode == "429":
        assert response.headers["retry-after"] == "17"
    assert_secret_absent(response.content, key, where="an error response")


def test_a_truncated_provider_reply_is_a_502_not_a_relayed_200(
    server: RefServer, provider: FakeProvider
) -> None:
    _, headers, _ = _user_with_key(server)
    provider.reset("malformed")
    response = _ask(server, headers, stream=False)
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "provider_malformed_reply"
    assert len(provider.calls) == 1
    assert PROVIDER_BODY_CANARY not in response.text


def test_no_stored_key_means_no_upstream_call(server: RefServer, provider: FakeProvider) -> None:
    _, headers = server.signup()
    response = _ask(server, headers)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "no_api_key"
    assert provider.calls == []


def _write_record(db: str, user_id: str, record: bytes) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("UPDATE provider_keys SET record = ? WHERE user_id = ?", (record, user_id))
    finally:
        conn.close()


def test_tampered_record_fails_closed(server: RefServer, provider: FakeProvider) -> None:
    user_id, headers, _ = _user_with_key(server)
    record = bytearray(server.stored_record(user_id))
    record[-20] ^= 0x01
    _write_record(server.db, user_id, bytes(record))
    response = _ask(server, headers)
    assert response.status_code == 409
    assert response.json()["error"]["type"] == "stored_key_undecryptable"
    assert provider.calls == []
    lines = [json.loads(x) for x in server.log_file.read_text().splitlines() if x]
    assert any(
        line.get("user_id") == user_id
        and str(line.get("error", "")).startswith("stored_key_undecryptable")
        for line in lines
    )


def test_transplanted_record_does_not_decrypt_for_another_user(
    server: RefServer, provider: FakeProvider
) -> None:
    alice_id, alice, alice_key = _user_with_key(server)
    bob_id, bob, _ = _user_with_key(server)
    _write_record(server.db, bob_id, server.stored_record(alice_id))
    assert _ask(server, bob).status_code == 409
    assert provider.calls == []
    assert _ask(server, alice).status_code == 200
    assert [c.headers["x-api-key"] for c in provider.calls] == [alice_key]


def test_replace_and_delete_take_effect_on_the_next_call(
    server: RefServer, provider: FakeProvider
) -> None:
    _, headers, first = _user_with_key(server)
    assert _ask(server, headers).status_code == 200
    second = canary_key()
    assert server.put_key(headers, second).status_code == 200
    assert _ask(server, headers).status_code == 200
    assert [c.headers["x-api-key"] for c in provider.calls] == [first, second]
    with server.client() as client:
        assert client.delete("/api/v1/claude-key", headers=headers).status_code == 204
    assert _ask(server, headers).status_code == 400
    assert len(provider.calls) == 2


def test_user_b_cannot_use_user_a_key(server: RefServer, provider: FakeProvider) -> None:
    _user_with_key(server)
    _, bob = server.signup()
    assert _ask(server, bob).status_code == 400
    assert provider.calls == []
    bob_key = canary_key()
    server.put_key(bob, bob_key)
    assert _ask(server, bob).status_code == 200
    assert [c.headers["x-api-key"] for c in provider.calls] == [bob_key]


@pytest.mark.parametrize(
    ("overrides", "kind"),
    [
        ({"model": "claude-unknown-9"}, "model_not_allowed"),
        ({"model": "gpt-4o"}, "model_not_allowed"),
        ({"max_tokens": 8193}, "max_tokens_over_limit"),
    ],
)
def test_policy_refusals_happen_before_any_upstream_call(
    server: RefServer, provider: FakeProvider, overrides: dict, kind: str
) -> None:
    _, headers, _ = _user_with_key(server)
    response = _ask(server, headers, **overrides)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == kind
    assert provider.calls == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"max_tokens": "100"},
        {"max_tokens": 0},
        {"messages": []},
        {"messages": [{"role": "system", "content": "x"}]},
        {"stream": "yes"},
        {"unexpected": 1},
    ],
)
def test_malformed_requests_are_422_without_upstream_call(
    server: RefServer, provider: FakeProvider, overrides: dict
) -> None:
    _, headers, _ = _user_with_key(server)
    assert _ask(server, headers, **overrides).status_code == 422
    assert provider.calls == []


def test_max_tokens_at_the_limit_is_passed_unchanged(
    server: RefServer, provider: FakeProvider
) -> None:
    _, headers, _ = _user_with_key(server)
    assert _ask(server, headers, max_tokens=8192).status_code == 200
    assert provider.calls[0].json["max_tokens"] == 8192


def test_canary_sweep_of_logs_stdout_and_stderr(server: RefServer, provider: FakeProvider) -> None:
    prompt = f"PROMPT-CANARY-{secrets.token_hex(12)}"
    provider.response_text = f"RESPONSE-CANARY-{secrets.token_hex(12)}"
    user_id, headers, key = _user_with_key(server)
    body = {"messages": [{"role": "user", "content": prompt}]}
    assert _ask(server, headers, **body).status_code == 200
    assert _ask(server, headers, stream=True, **body).status_code == 200
    provider.mode = "401"
    assert _ask(server, headers, **body).status_code == 400
    provider.mode = "ok"
    with server.client() as client:
        client.get("/api/v1/claude-key", headers=headers)
        client.put("/api/v1/claude-key", json={"api_key": key[:-3]}, headers=headers)
        client.delete("/api/v1/claude-key", headers=headers)
    output = server.output()
    assert_secret_absent(output, key, where="logs/stdout/stderr")
    for text in (
        prompt,
        provider.response_text,
        PROVIDER_BODY_CANARY,
        server.master_keys.split(":")[1],
    ):
        assert text not in output
    lines = [json.loads(line) for line in server.log_file.read_text().splitlines() if line]
    calls = [
        line
        for line in lines
        if line.get("user_id") == user_id and line.get("route") == "/api/v1/messages"
    ]
    assert [(c["status"], c["stream"]) for c in calls] == [(200, False), (200, True), (400, False)]
    for line in calls[:2]:
        assert line["model"] == MODEL
        assert (line["input_tokens"], line["output_tokens"]) == (11, 7)
        assert line["upstream_host"] == "api.anthropic.com" and line["upstream_status"] == 200
    assert calls[2]["upstream_status"] == 401


def test_monthly_token_cap_refuses_before_calling(tmp_path: Path, provider: FakeProvider) -> None:
    ref = RefServer(
        tmp_path,
        master_keys=generate_entry(),
        env=provider.env(),
        extra_args=["--monthly-token-cap", "20"],
    ).start()
    try:
        _, headers, _ = _user_with_key(ref)
        assert _ask(ref, headers).status_code == 200
        assert _ask(ref, headers).status_code == 200
        capped = _ask(ref, headers)
        assert capped.status_code == 429
        assert capped.json()["error"]["type"] == "monthly_token_cap_reached"
        assert len(provider.calls) == 2
    finally:
        ref.stop()

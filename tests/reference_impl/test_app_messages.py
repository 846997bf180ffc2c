"""POST /api/v1/messages end to end: real server, real TLS through a CONNECT proxy, fake provider."""

from __future__ import annotations

import json
import secrets
import socket
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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


def _usage(db: str, user_id: str) -> tuple[int, int, int]:
    """(input tokens, output tokens, tokens held) this month, read without writing."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT input_tokens, output_tokens, reserved FROM usage_monthly WHERE user_id = ?",
            (user_id,),
        ).fetchone()
    finally:
        conn.close()
    return (0, 0, 0) if row is None else (row[0], row[1], row[2])


@pytest.fixture
def capped(
    tmp_path: Path, provider: FakeProvider, request: pytest.FixtureRequest
) -> Iterator[RefServer]:
    cap = getattr(request, "param", 1000)
    ref = RefServer(
        tmp_path,
        master_keys=generate_entry(),
        env=provider.env(),
        extra_args=["--monthly-token-cap", str(cap), "--upstream-timeout", "10"],
    ).start()
    yield ref
    ref.stop()


def test_monthly_token_cap_counts_usage_and_refuses_before_calling(
    capped: RefServer, provider: FakeProvider
) -> None:
    user_id, headers, _ = _user_with_key(capped)
    too_big = _ask(capped, headers, max_tokens=1001)  # could never fit a cap of 1000
    assert too_big.status_code == 429
    assert provider.calls == []
    provider.output_tokens = 900
    try:
        assert _ask(capped, headers).status_code == 200
        assert _usage(capped.db, user_id) == (11, 900, 0)
        capped_reply = _ask(capped, headers)  # 911 used + max_tokens 321 > 1000
    finally:
        provider.output_tokens = 7
    assert capped_reply.status_code == 429
    error = capped_reply.json()["error"]
    assert error["type"] == "monthly_token_cap_reached"
    assert "89 of this user's monthly cap of 1000 remain" in error["message"]
    assert len(provider.calls) == 1


@pytest.mark.parametrize("capped", [2500], indirect=True)
def test_concurrent_requests_cannot_overrun_the_cap(
    capped: RefServer, provider: FakeProvider
) -> None:
    """Six requests at once, room for two: the holds are taken before any provider call, so the
    other four are refused even though nothing has been counted yet."""
    user_id, headers, _ = _user_with_key(capped)
    provider.reset("gated")
    with ThreadPoolExecutor(6) as pool:
        replies = [pool.submit(_ask, capped, headers, max_tokens=1000) for _ in range(6)]
        for _ in range(600):  # until each request is refused or waiting at the provider
            refused = sum(1 for r in replies if r.done() and r.result().status_code == 429)
            if refused + len(provider.calls) >= 6:
                break
            time.sleep(0.05)
        provider.gate.set()
        statuses = sorted(reply.result().status_code for reply in replies)
    assert statuses == [200, 200, 429, 429, 429, 429]
    assert len(provider.calls) == 2
    assert _usage(capped.db, user_id) == (22, 14, 0)


def test_prompt_cache_tokens_count_as_input(server: RefServer, provider: FakeProvider) -> None:
    user_id, headers, _ = _user_with_key(server)
    provider.cache_creation_input_tokens = 100
    provider.cache_read_input_tokens = 200
    assert _ask(server, headers).status_code == 200
    assert _ask(server, headers, stream=True).status_code == 200
    assert _usage(server.db, user_id) == (2 * (11 + 100 + 200), 14, 0)
    for _ in range(600):  # a stream's line is written just after its last byte is sent
        lines = [json.loads(line) for line in server.log_file.read_text().splitlines() if line]
        calls = [line for line in lines if line.get("user_id") == user_id and line.get("model")]
        if len(calls) == 2:
            break
        time.sleep(0.05)
    assert [
        (c["input_tokens"], c["cache_creation_input_tokens"], c["cache_read_input_tokens"])
        for c in calls
    ] == [(11, 100, 200), (11, 100, 200)]


def _abandon_stream(server: RefServer, headers: dict[str, str], provider: FakeProvider) -> None:
    """Send a streaming request on a raw socket and hang up, unread, once the provider has it."""
    body = json.dumps(
        {
            "model": MODEL,
            "max_tokens": 500,
            "stream": True,
            "messages": [{"role": "user", "content": "hello there"}],
        }
    ).encode()
    head = (
        f"POST /api/v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        f"authorization: {headers['authorization']}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as client:
        client.sendall(head + body)
        for _ in range(600):
            if provider.calls:
                break
            time.sleep(0.05)
        assert provider.calls, "the request never reached the provider"


def _wait_for_settlement(db: str, user_id: str) -> tuple[int, int, int]:
    usage = _usage(db, user_id)
    for _ in range(600):
        if usage[2] == 0 and usage[0] + usage[1] > 0:
            break
        time.sleep(0.05)
        usage = _usage(db, user_id)
    return usage


@pytest.mark.parametrize("capped", [100_000], indirect=True)
def test_a_stream_abandoned_before_its_first_byte_is_still_counted(
    capped: RefServer, provider: FakeProvider
) -> None:
    """The provider sent its headers and nothing else; the client left. The provider may bill
    up to max_tokens, so the hold is settled at its bound, not dropped."""
    user_id, headers, _ = _user_with_key(capped)
    provider.reset("stall")
    try:
        _abandon_stream(capped, headers, provider)
        held = _usage(capped.db, user_id)[2]
        settled = _wait_for_settlement(capped.db, user_id)
    finally:
        provider.gate.set()
    assert held > 500  # max_tokens plus the input bound
    assert settled[2] == 0, "the abandoned stream's hold was never released"
    assert settled[0] + settled[1] == held


@pytest.mark.parametrize("capped", [100_000], indirect=True)
def test_a_stream_whose_client_left_before_the_reply_began_is_settled(
    capped: RefServer, provider: FakeProvider
) -> None:
    """The client hangs up while the provider is still silent; the relay may then never start.
    The hold is released and the request counted, at its bound or at what the provider said."""
    user_id, headers, _ = _user_with_key(capped)
    provider.reset("gated")
    _abandon_stream(capped, headers, provider)
    held = _usage(capped.db, user_id)[2]
    provider.gate.set()
    settled = _wait_for_settlement(capped.db, user_id)
    assert settled[2] == 0, "the abandoned stream's hold was never released"
    assert settled[0] + settled[1] in (held, 11 + 7)

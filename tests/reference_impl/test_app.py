"""The key API of a real `byok-ref serve` process: storage, hard delete, bad input, isolation."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_impl.keyring import generate_entry
from tests.reference_impl.support import (
    RefServer,
    assert_secret_absent,
    canary_key,
    residue,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefServer]:
    ref = RefServer(tmp_path_factory.mktemp("app"), master_keys=generate_entry()).start()
    yield ref
    ref.stop()


@pytest.fixture
def user(server: RefServer) -> tuple[str, dict[str, str]]:
    return server.signup()


def test_healthz(server: RefServer) -> None:
    with server.client() as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_signup_returns_a_working_token_and_refuses_duplicates(server: RefServer) -> None:
    name = f"dev-{secrets.token_hex(4)}"
    with server.client() as client:
        created = client.post("/api/v1/dev/signup", json={"name": name})
        again = client.post("/api/v1/dev/signup", json={"name": name})
        bad = client.post("/api/v1/dev/signup", json={"name": "no spaces allowed"})
    assert created.status_code == 201
    assert set(created.json()) == {"user_id", "name", "token"}
    assert again.status_code == 409
    assert bad.status_code == 422


def test_key_lifecycle(server: RefServer, user: tuple[str, dict[str, str]]) -> None:
    _, headers = user
    key, other = canary_key(), canary_key()
    with server.client() as client:
        created = client.put("/api/v1/claude-key", json={"api_key": key}, headers=headers)
        shown = client.get("/api/v1/claude-key", headers=headers)
        replaced = client.put("/api/v1/claude-key", json={"api_key": other}, headers=headers)
        deleted = client.delete("/api/v1/claude-key", headers=headers)
        gone = client.get("/api/v1/claude-key", headers=headers)
        deleted_again = client.delete("/api/v1/claude-key", headers=headers)
    assert created.status_code == 201
    assert shown.status_code == 200
    body = shown.json()
    assert set(body) == {"provider", "fingerprint", "last4", "created_at", "updated_at"}
    assert body["last4"] == key[-4:] and body["provider"] == "anthropic"
    assert replaced.status_code == 200 and replaced.json()["fingerprint"] != body["fingerprint"]
    assert (deleted.status_code, gone.status_code, deleted_again.status_code) == (204, 404, 404)
    for response in (created, shown, replaced):
        assert_secret_absent(response.content, key, where="an API response")


def test_stored_key_is_encrypted_and_randomized(server: RefServer) -> None:
    key = canary_key()
    first_id, first = server.signup()
    second_id, second = server.signup()
    assert server.put_key(first, key).status_code == 201
    record_one = server.stored_record(first_id)
    assert server.put_key(first, key).status_code == 200
    record_two = server.stored_record(first_id)
    assert server.put_key(second, key).status_code == 201
    record_other = server.stored_record(second_id)
    assert len({record_one, record_two, record_other}) == 3
    files = b"".join(server.db_file_bytes().values())
    assert_secret_absent(files, key, where="the database files")
    for algorithm in ("sha256", "sha1", "md5"):
        digest = hashlib.new(algorithm, key.encode())
        assert digest.digest() not in files
        assert digest.hexdigest().encode() not in files


def test_delete_leaves_no_record_bytes_in_db_or_wal(server: RefServer) -> None:
    user_id, headers = server.signup()
    assert server.put_key(headers, canary_key()).status_code == 201
    record = server.stored_record(user_id)
    assert record is not None
    assert residue(server.db_file_bytes(), record) != []
    with server.client() as client:
        assert client.delete("/api/v1/claude-key", headers=headers).status_code == 204
    assert residue(server.db_file_bytes(), record) == []
    assert server.stored_record(user_id) is None


def test_replace_leaves_no_old_record_bytes(server: RefServer) -> None:
    user_id, headers = server.signup()
    server.put_key(headers, canary_key())
    old = server.stored_record(user_id)
    assert server.put_key(headers, canary_key()).status_code == 200
    assert residue(server.db_file_bytes(), old) == []
    assert server.stored_record(user_id) not in (None, old)


def _bad_keys() -> dict[str, object]:
    key = canary_key()
    return {
        "truncated": key[:-5],
        "wrong prefix": "sk-ant-api02-" + key[13:],
        "bad character": key[:50] + "$" + key[51:],
        "openai": "sk-proj-" + key[13:],
        "oauth token": "sk-ant-oat01-" + key[13:],
        "padded": f" {key} ",
        "empty": "",
        "number": 12345678901234567890,
        "list": [key],
        "too long": key * 20,
    }


@pytest.mark.parametrize("value", _bad_keys().values(), ids=_bad_keys().keys())
def test_bad_keys_are_refused_stored_nowhere_echoed_nowhere(
    server: RefServer, user: tuple[str, dict[str, str]], value: object
) -> None:
    user_id, headers = user
    with server.client() as client:
        response = client.put("/api/v1/claude-key", json={"api_key": value}, headers=headers)
        shown = client.get("/api/v1/claude-key", headers=headers)
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["message"]
    assert shown.status_code == 404
    assert server.stored_record(user_id) is None
    if isinstance(value, str) and len(value) > 20:
        secret = value.strip()[:108]
        assert secret[13:29] not in response.text
        assert secret[13:29] not in server.output()


def test_oauth_token_refusal_explains_the_terms(
    server: RefServer, user: tuple[str, dict[str, str]]
) -> None:
    _, headers = user
    response = server.put_key(headers, "sk-ant-oat01-" + canary_key()[13:])
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "oauth_token_refused"
    assert "terms" in response.json()["error"]["message"]


def test_unknown_field_named_like_a_key_is_not_echoed(
    server: RefServer, user: tuple[str, dict[str, str]]
) -> None:
    _, headers = user
    key = canary_key()
    with server.client() as client:
        response = client.put(
            "/api/v1/claude-key", json={"api_key": canary_key(), key: 1}, headers=headers
        )
    assert response.status_code == 422
    assert_secret_absent(response.content, key, where="the 422 body")


def test_body_limits_and_invalid_json(server: RefServer, user: tuple[str, dict[str, str]]) -> None:
    _, headers = user
    big = json.dumps({"api_key": "x" * 70_000}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    with server.client() as client:
        declared = client.put(
            "/api/v1/claude-key",
            content=big,
            headers={**headers, "content-type": "application/json"},
        )
        chunked = client.put(
            "/api/v1/claude-key",
            content=chunks(),
            headers={**headers, "content-type": "application/json"},
        )
        broken = client.put(
            "/api/v1/claude-key",
            content=b"{not json",
            headers={**headers, "content-type": "application/json"},
        )
    assert declared.status_code == 413
    assert chunked.status_code == 413
    assert broken.status_code == 400 and broken.json()["error"]["type"] == "invalid_json"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-real-token", "Basic dXNlcjpwYXNz", "byokref_abc"],
)
def test_missing_or_invalid_tokens_get_401(server: RefServer, authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization else {}
    with server.client() as client:
        for method, body in (("GET", None), ("PUT", {"api_key": canary_key()}), ("DELETE", None)):
            response = client.request(method, "/api/v1/claude-key", json=body, headers=headers)
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
        message = client.post("/api/v1/messages", json={}, headers=headers)
    assert message.status_code == 401


@pytest.mark.parametrize("parameter", ["api_key", "key", "x-api-key"])
def test_keys_in_the_query_string_are_refused(
    server: RefServer, user: tuple[str, dict[str, str]], parameter: str
) -> None:
    user_id, headers = user
    key = canary_key()
    with server.client() as client:
        put = client.put(
            "/api/v1/claude-key", params={parameter: key}, json={"api_key": key}, headers=headers
        )
        get = client.get("/api/v1/claude-key", params={parameter: key}, headers=headers)
    assert put.status_code == 400 and get.status_code == 400
    assert put.json()["error"]["type"] == "query_string_refused"
    assert server.stored_record(user_id) is None
    assert_secret_absent(put.content, key, where="the refusal")
    assert_secret_absent(server.output(), key, where="the server's logs and output")


def test_users_only_ever_touch_their_own_key(server: RefServer) -> None:
    alice_id, alice = server.signup()
    bob_id, bob = server.signup()
    alice_key = canary_key()
    server.put_key(alice, alice_key)
    with server.client() as client:
        alice_view = client.get("/api/v1/claude-key", headers=alice).json()
        assert client.get("/api/v1/claude-key", headers=bob).status_code == 404
        assert client.delete("/api/v1/claude-key", headers=bob).status_code == 404
        assert client.get("/api/v1/claude-key", headers=alice).json() == alice_view
        assert server.put_key(bob, canary_key()).status_code == 201
        assert client.get("/api/v1/claude-key", headers=alice).json() == alice_view
        assert client.delete("/api/v1/claude-key", headers=bob).status_code == 204
        assert client.get("/api/v1/claude-key", headers=alice).json() == alice_view
    assert server.stored_record(alice_id) is not None
    assert server.stored_record(bob_id) is None


def test_unknown_routes_and_methods(server: RefServer) -> None:
    with server.client() as client:
        assert client.get("/api/v1/nothing-here").status_code == 404
        assert client.post("/api/v1/claude-key").status_code == 405


def test_one_json_metadata_line_per_request(server: RefServer) -> None:
    marker_user, headers = server.signup()
    with server.client() as client:
        client.get("/api/v1/claude-key", headers=headers)
        client.get("/api/v1/claude-key", headers=headers)
    lines = [json.loads(line) for line in server.log_file.read_text().splitlines() if line]
    mine = [
        line
        for line in lines
        if line.get("event") == "request"
        and line.get("user_id") == marker_user
        and line.get("route") == "/api/v1/claude-key"
    ]
    assert len(mine) == 2
    for line in mine:
        assert line["method"] == "GET" and line["status"] == 404
        assert isinstance(line["latency_ms"], int)
        assert {"time", "model", "input_tokens", "output_tokens", "upstream_host"} <= set(line)


def test_disabled_signup_is_not_routed(tmp_path: Path) -> None:
    ref = RefServer(tmp_path, master_keys=generate_entry(), dev_signup=False).start()
    try:
        with ref.client() as client:
            assert client.post("/api/v1/dev/signup", json={"name": "x"}).status_code == 404
    finally:
        ref.stop()

"""`byok-ref` as a user runs it: secrets, users, refusing to start, restarts, rotation, PostgreSQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from reference_impl.crypto import RecordCipher, RecordContext, UnknownMasterKeyError
from reference_impl.keyring import README_EXAMPLE_ENTRY, generate_entry, parse_keyring
from reference_impl.store import open_database
from tests.reference_impl.fake_provider import FakeProvider
from tests.reference_impl.support import REPO_ROOT, RefServer, canary_key

pytestmark = pytest.mark.e2e


def byok_ref(
    *args: str, master_keys: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {
        "PYTHONPATH": str(REPO_ROOT),
        "PATH": "/usr/bin:/bin",
        "HTTPS_PROXY": "http://127.0.0.1:9",
    }
    if master_keys is not None:
        env["BYOK_MASTER_KEYS"] = master_keys
    return subprocess.run(
        [sys.executable, "-m", "reference_impl", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _ask(server: RefServer, headers: dict[str, str]) -> int:
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with server.client() as client:
        return client.post("/api/v1/messages", json=body, headers=headers).status_code


def test_gen_secret_prints_a_usable_entry() -> None:
    result = byok_ref("gen-secret")
    assert result.returncode == 0
    entry = result.stdout.strip()
    parse_keyring(entry)
    assert entry != byok_ref("gen-secret").stdout.strip()


@pytest.mark.parametrize(
    "master_keys",
    [
        None,
        "",
        "a1b2c3d4:" + "00" * 32,
        "a1b2c3d4:" + "ab" * 31,
        "a1b2c3d4:" + "42" * 32,
        README_EXAMPLE_ENTRY,
        "not-a-keyring",
    ],
    ids=["unset", "empty", "all-zero", "short", "repeated", "readme-example", "malformed"],
)
def test_serve_refuses_to_start_without_a_good_secret(
    tmp_path: Path, master_keys: str | None
) -> None:
    result = byok_ref(
        "serve", "--db", str(tmp_path / "db.sqlite3"), "--port", "0", master_keys=master_keys
    )
    assert result.returncode != 0
    assert "byok-ref gen-secret" in result.stderr
    if master_keys and ":" in master_keys:
        assert master_keys.split(":")[1][:16] not in result.stderr + result.stdout
    assert not (tmp_path / "db.sqlite3").exists()


def test_serve_refuses_bad_settings(tmp_path: Path) -> None:
    result = byok_ref(
        "serve",
        "--db",
        str(tmp_path / "db.sqlite3"),
        "--models",
        "bad model!",
        master_keys=generate_entry(),
    )
    assert result.returncode != 0
    assert "invalid settings" in result.stderr and "models" in result.stderr


def test_serve_refuses_a_database_a_soft_delete_variant_used(tmp_path: Path) -> None:
    """The clean server must not adopt a deleted_at column: it would serve soft-deleted keys again."""
    db = str(tmp_path / "used-by-a-flawed-variant.sqlite3")
    open_database(db).init_schema()
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE provider_keys ADD COLUMN deleted_at TEXT")
    conn.close()
    try:
        result = byok_ref(
            "serve", "--db", db, "--port", "0", master_keys=generate_entry(), timeout=20
        )
    except subprocess.TimeoutExpired:
        pytest.fail("byok-ref serve started on a database with a soft-delete column")
    assert result.returncode != 0
    assert "provider_keys.deleted_at" in result.stderr


def test_user_add_prints_a_token_that_works(tmp_path: Path, master_keys: str) -> None:
    db = str(tmp_path / "users.sqlite3")
    created = byok_ref("user", "add", "carol", "--db", db)
    assert created.returncode == 0
    token = created.stdout.strip()
    assert token.startswith("byokref_") and "carol" in created.stderr
    assert byok_ref("user", "add", "carol", "--db", db).returncode != 0
    server = RefServer(tmp_path / "srv", master_keys=master_keys, db=db, dev_signup=False).start()
    try:
        assert server.put_key({"authorization": f"Bearer {token}"}, canary_key()).status_code == 201
        assert (
            server.put_key({"authorization": f"Bearer {token}x"}, canary_key()).status_code == 401
        )
    finally:
        server.stop()
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT token_sha256 FROM users").fetchone()[0]
    assert token.encode() not in stored and len(stored) == 32


def test_restart_keeps_keys_working(
    tmp_path: Path, master_keys: str, fake_provider: FakeProvider
) -> None:
    fake_provider.reset()
    server = RefServer(tmp_path, master_keys=master_keys, env=fake_provider.env()).start()
    try:
        _, headers = server.signup()
        key = canary_key()
        server.put_key(headers, key)
    finally:
        server.stop()
    server.start()
    try:
        with server.client() as client:
            assert client.get("/api/v1/claude-key", headers=headers).json()["last4"] == key[-4:]
        assert _ask(server, headers) == 200
        assert [c.headers["x-api-key"] for c in fake_provider.calls] == [key]
    finally:
        server.stop()


def test_rotate_master_end_to_end(tmp_path: Path, fake_provider: FakeProvider) -> None:
    fake_provider.reset()
    old, new = generate_entry(), generate_entry()
    server = RefServer(tmp_path, master_keys=old, env=fake_provider.env()).start()
    users = []
    try:
        for _ in range(4):
            user_id, headers = server.signup()
            key = canary_key()
            server.put_key(headers, key)
            users.append((user_id, headers, key))
    finally:
        server.stop()
    residue_blob = server.stored_record(users[0][0])

    server.master_keys = f"{new},{old}"
    server.start()
    try:
        assert _ask(server, users[0][1]) == 200  # an old-key row still decrypts
        replacement = canary_key()
        server.put_key(users[1][1], replacement)  # written under the new primary
        with server.client() as client:
            client.delete("/api/v1/claude-key", headers=users[2][1])
        rotated = byok_ref("rotate-master", "--db", server.db, master_keys=f"{new},{old}")
        assert rotated.returncode == 0, rotated.stderr
        assert "rotate-master: pass 1" in rotated.stderr
    finally:
        server.stop()
    with sqlite3.connect(server.db) as conn:
        ids = {row[0] for row in conn.execute("SELECT master_key_id FROM provider_keys")}
    assert ids == {int(new[:8], 16)}

    server.master_keys = new  # retire the old key
    server.start()
    try:
        fake_provider.reset()
        assert _ask(server, users[0][1]) == 200
        assert _ask(server, users[1][1]) == 200
        assert _ask(server, users[2][1]) == 400  # deleted stays deleted
        assert _ask(server, users[3][1]) == 200
        assert [c.headers["x-api-key"] for c in fake_provider.calls] == [
            users[0][2],
            replacement,
            users[3][2],
        ]
        # A rotated row's fingerprint is the one the same key gets when stored again.
        for _, headers, key in (users[0], users[3]):
            with server.client() as client:
                shown = client.get("/api/v1/claude-key", headers=headers).json()["fingerprint"]
            assert server.put_key(headers, key).json()["fingerprint"] == shown
    finally:
        server.stop()
    with pytest.raises(UnknownMasterKeyError):
        RecordCipher(parse_keyring(new)).decrypt(
            residue_blob, RecordContext(users[0][0], "anthropic")
        )


def test_rotate_master_exits_nonzero_when_rows_remain(tmp_path: Path) -> None:
    old = generate_entry()
    server = RefServer(tmp_path, master_keys=old).start()
    try:
        _, headers = server.signup()
        server.put_key(headers, canary_key())
    finally:
        server.stop()
    result = byok_ref("rotate-master", "--db", server.db, master_keys=generate_entry())
    assert result.returncode == 1
    assert "still under other master keys" in result.stderr
    assert (
        "RecordAuthenticationError" not in result.stderr
        and "UnknownMasterKeyError" in result.stderr
    )


def test_postgresql_backend_end_to_end(
    tmp_path: Path, postgres_dsn: str, master_keys: str, fake_provider: FakeProvider
) -> None:
    fake_provider.reset()
    server = RefServer(
        tmp_path, master_keys=master_keys, db=postgres_dsn, env=fake_provider.env()
    ).start()
    try:
        _, headers = server.signup()
        key = canary_key()
        assert server.put_key(headers, key).status_code == 201
        assert server.put_key(headers, key).status_code == 200
    finally:
        server.stop()
    server.start()
    try:
        assert _ask(server, headers) == 200
        with server.client() as client:
            assert client.delete("/api/v1/claude-key", headers=headers).status_code == 204
            assert client.get("/api/v1/claude-key", headers=headers).status_code == 404
        assert _ask(server, headers) == 400
        assert [c.headers["x-api-key"] for c in fake_provider.calls] == [key]
    finally:
        server.stop()


def test_user_add_with_a_malformed_dsn_is_a_clean_error_without_the_password() -> None:
    from click.testing import CliRunner

    from reference_impl.cli import main

    result = CliRunner().invoke(main, ["user", "add", "x", "--db", "postgresql://u:hunter2@[bad"])
    assert result.exit_code == 1
    assert "malformed" in result.output and "hunter2" not in result.output
    assert "Traceback" not in result.output

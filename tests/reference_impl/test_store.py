"""The key repository on real SQLite files and (when available) a throwaway PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest

from reference_impl.store import (
    CapReached,
    Database,
    NameTaken,
    PostgresDatabase,
    SchemaMismatch,
    SqliteDatabase,
    SqlKeyStore,
    StoredKey,
    StoreError,
    UsageStore,
    UserStore,
    open_database,
    utc_now,
)
from tests.reference_impl.support import db_file_bytes, residue


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        db = open_database(str(tmp_path / "store.sqlite3"))
    else:
        db = open_database(request.getfixturevalue("postgres_dsn"))
    db.init_schema()
    return db


def _key(user_id: str, record: bytes, master_key_id: int = 7) -> StoredKey:
    now = utc_now()
    return StoredKey(user_id, "anthropic", master_key_id, record, "abAA", "fp_00", now, now)


def _user(db: Database, name: str = "alice") -> str:
    return UserStore(db).add(name, os.urandom(32)).user_id


def test_users_are_unique_by_name_and_found_by_digest(database: Database) -> None:
    users = UserStore(database)
    digest = os.urandom(32)
    created = users.add("alice", digest)
    with pytest.raises(NameTaken):
        users.add("alice", os.urandom(32))
    found = users.by_token_digest(digest)
    assert found is not None and found[0] == created and found[1] == digest
    assert users.by_token_digest(os.urandom(32)) is None


def test_put_get_replace_delete(database: Database) -> None:
    keys = SqlKeyStore(database)
    user_id = _user(database)
    assert keys.get(user_id, "anthropic") is None
    assert keys.put(_key(user_id, b"record-one")) is False
    assert keys.get(user_id, "anthropic").record == b"record-one"
    assert keys.put(_key(user_id, b"record-two")) is True
    assert keys.get(user_id, "anthropic").record == b"record-two"
    assert keys.delete(user_id, "anthropic") is True
    assert keys.get(user_id, "anthropic") is None
    assert keys.delete(user_id, "anthropic") is False


def test_swap_only_when_the_row_is_unchanged(database: Database) -> None:
    keys = SqlKeyStore(database)
    user_id = _user(database)
    keys.put(_key(user_id, b"old", master_key_id=1))
    seen = keys.get(user_id, "anthropic")
    assert keys.swap_record(seen, b"rotated", 2, utc_now()) is True
    assert keys.get(user_id, "anthropic").record == b"rotated"
    assert keys.swap_record(seen, b"stale", 2, utc_now()) is False
    keys.put(_key(user_id, b"replaced", master_key_id=2))
    fresh = keys.get(user_id, "anthropic")
    keys.delete(user_id, "anthropic")
    assert keys.swap_record(fresh, b"resurrected", 2, utc_now()) is False
    assert keys.get(user_id, "anthropic") is None


def test_rotation_queries(database: Database) -> None:
    keys = SqlKeyStore(database)
    ids = [_user(database, f"u{i}") for i in range(5)]
    for i, user_id in enumerate(ids):
        keys.put(_key(user_id, f"r{i}".encode(), master_key_id=1 if i < 3 else 0xFFFFFFFF))
    assert keys.count_by_master_key() == {1: 3, 0xFFFFFFFF: 2}
    assert {row.user_id for row in keys.rows_not_under(0xFFFFFFFF, 10)} == set(ids[:3])
    assert len(keys.rows_not_under(0xFFFFFFFF, 2)) == 2


def _usage_row(db: Database, user_id: str) -> tuple[int, int, int] | None:
    with db.transaction() as tx:
        row = tx.execute(
            "SELECT input_tokens, output_tokens, reserved FROM usage_monthly WHERE user_id = ?",
            (user_id,),
        ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]))


def test_usage_is_held_then_settled_per_month(database: Database) -> None:
    usage = UsageStore(database)
    user_id = _user(database)
    first = usage.reserve(user_id, 60, cap=100)
    assert _usage_row(database, user_id) == (0, 0, 60)
    with pytest.raises(CapReached) as refused:
        usage.reserve(user_id, 41, cap=100)  # 60 held + 41 > 100
    assert refused.value.remaining == 40
    usage.settle(first, 10, 5)
    assert _usage_row(database, user_id) == (10, 5, 0)
    usage.settle(usage.reserve(user_id, 85, cap=100), 1, 2)  # exactly at the cap
    assert _usage_row(database, user_id) == (11, 7, 0)
    with pytest.raises(CapReached):
        usage.reserve(user_id, 83, cap=100)
    usage.settle(usage.reserve(user_id, 10**6, cap=None), 3, 4)  # no cap: nothing held
    assert _usage_row(database, user_id) == (14, 11, 0)


def test_concurrent_holds_never_pass_the_cap(database: Database) -> None:
    usage = UsageStore(database)
    user_id = _user(database)
    start = threading.Barrier(8)
    granted: list[object] = []

    def reserve() -> None:
        start.wait()
        with contextlib.suppress(CapReached):
            granted.append(usage.reserve(user_id, 100, cap=350))

    threads = [threading.Thread(target=reserve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 3
    assert _usage_row(database, user_id) == (0, 0, 300)


def test_an_older_usage_table_gets_the_reserved_column(tmp_path: Path) -> None:
    path = tmp_path / "older.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE users (user_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
            "token_sha256 BLOB NOT NULL UNIQUE, created_at TEXT NOT NULL);"
            "CREATE TABLE usage_monthly (user_id TEXT NOT NULL REFERENCES users(user_id), "
            "month TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, "
            "PRIMARY KEY (user_id, month));"
        )
    conn.close()
    db = SqliteDatabase(path)
    db.init_schema()
    user_id = _user(db)
    UsageStore(db).reserve(user_id, 5, cap=10)
    assert _usage_row(db, user_id) == (0, 0, 5)


def test_schema_has_no_soft_delete_or_history(database: Database) -> None:
    with database.transaction() as tx:
        if database.kind == "sqlite":
            tables = [
                r[0]
                for r in tx.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
            ]
            columns = [r[1] for r in tx.execute("PRAGMA table_info(provider_keys)").fetchall()]
            triggers = tx.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall()
        else:
            tables = [
                r[0]
                for r in tx.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema='public'"
                ).fetchall()
            ]
            columns = [
                r[0]
                for r in tx.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name='provider_keys'"
                ).fetchall()
            ]
            triggers = tx.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").fetchall()
    assert sorted(tables) == ["provider_keys", "usage_monthly", "users"]
    assert set(columns) == {
        "user_id",
        "provider",
        "master_key_id",
        "record",
        "last4",
        "fingerprint",
        "created_at",
        "updated_at",
    }
    assert triggers == []


# What flawed code leaves behind, and the name the refusal must give it.
_FOREIGN_OBJECTS = {
    "soft-delete column": (
        ["ALTER TABLE provider_keys ADD COLUMN deleted_at TEXT"],
        "provider_keys.deleted_at",
    ),
    "history table": (
        ["CREATE TABLE provider_keys_history (user_id TEXT, record BLOB)"],
        "provider_keys_history",
    ),
    "config table": (["CREATE TABLE config (name TEXT PRIMARY KEY, value TEXT)"], "config"),
    "view": (["CREATE VIEW live_keys AS SELECT * FROM provider_keys"], "live_keys"),
    "trigger": (
        ["CREATE TRIGGER keep_copy BEFORE DELETE ON provider_keys BEGIN SELECT 1; END"],
        "keep_copy on provider_keys",
    ),
}
_POSTGRES_TRIGGER = [
    "CREATE FUNCTION keep_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
    "CREATE TRIGGER keep_copy BEFORE DELETE ON provider_keys "
    "FOR EACH ROW EXECUTE FUNCTION keep_copy()",
]


@pytest.mark.parametrize("kind", _FOREIGN_OBJECTS)
def test_a_schema_with_foreign_objects_is_refused_by_name(database: Database, kind: str) -> None:
    statements, name = _FOREIGN_OBJECTS[kind]
    if kind == "trigger" and database.kind == "postgresql":
        statements = _POSTGRES_TRIGGER
    database.init_schema()  # our own schema, created twice, passes
    with database.transaction(write=True) as tx:
        for statement in statements:
            tx.execute(
                statement.replace("BLOB", "BYTEA") if database.kind != "sqlite" else statement
            )
    with pytest.raises(SchemaMismatch, match=re.escape(name)):
        database.init_schema()
    database.init_schema(verify=False)  # what a flawed variant that made them does on restart


def test_a_postgres_rule_is_refused(request: pytest.FixtureRequest) -> None:
    """A DO INSTEAD rule turns DELETE into an UPDATE: soft delete without a trigger."""
    database = open_database(request.getfixturevalue("postgres_dsn"))
    database.init_schema()
    with database.transaction(write=True) as tx:
        tx.execute(
            "CREATE RULE soft_delete AS ON DELETE TO provider_keys DO INSTEAD "
            "UPDATE provider_keys SET last4 = last4 WHERE user_id = OLD.user_id"
        )
    with pytest.raises(SchemaMismatch, match="soft_delete on provider_keys"):
        database.init_schema()


def test_a_table_missing_a_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other-app.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (user_id TEXT PRIMARY KEY, name TEXT)")
    with pytest.raises(SchemaMismatch, match=r"missing column\(s\): users\.token_sha256"):
        SqliteDatabase(path).init_schema()


def test_every_sqlite_connection_sets_secure_delete_and_wal(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "pragmas.sqlite3")
    db.init_schema()
    for _ in range(3):
        with db.transaction() as tx:
            assert tx.execute("PRAGMA secure_delete").fetchone()[0] == 1
            assert tx.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _fill(keys: SqlKeyStore, db: Database, count: int, prefix: str) -> list[str]:
    ids = []
    for i in range(count):
        user_id = _user(db, f"{prefix}{i}")
        keys.put(_key(user_id, os.urandom(120)))
        ids.append(user_id)
    return ids


def test_sqlite_delete_and_replace_leave_no_bytes(tmp_path: Path) -> None:
    path = tmp_path / "forensics.sqlite3"
    db = SqliteDatabase(path)
    db.init_schema()
    keys = SqlKeyStore(db)
    ids = _fill(keys, db, 60, "before")
    deleted, replaced = os.urandom(174), os.urandom(174)
    keys.put(_key(ids[10], deleted))
    keys.put(_key(ids[20], replaced))
    _fill(keys, db, 60, "after")
    assert residue(db_file_bytes(path), deleted) == ["forensics.sqlite3"]
    keys.delete(ids[10], "anthropic")
    keys.put(_key(ids[20], os.urandom(174)))
    files = db_file_bytes(path)
    assert residue(files, deleted) == []
    assert residue(files, replaced) == []


def test_the_residue_probe_finds_bytes_when_secure_delete_is_off(tmp_path: Path) -> None:
    """Control: the same probe sees the leftovers of a plain SQLite delete."""
    path = tmp_path / "control.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA secure_delete=OFF")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, blob BLOB)")
    needle = os.urandom(174)
    for i in range(60):
        conn.execute("INSERT INTO t (blob) VALUES (?)", (needle if i == 30 else os.urandom(120),))
    conn.execute("DELETE FROM t WHERE blob = ?", (needle,))
    conn.close()
    assert residue(db_file_bytes(path), needle) != []


def test_purge_reports_a_blocking_reader_and_completes_later(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "reader.sqlite3"
    db = SqliteDatabase(path)
    db.init_schema()
    keys = SqlKeyStore(db)
    ids = _fill(keys, db, 20, "u")
    needle = os.urandom(174)
    keys.put(_key(ids[5], needle))
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM provider_keys").fetchone()
    keys.put(_key(ids[6], os.urandom(174)))  # a newer snapshot the reader does not see
    with caplog.at_level("WARNING", logger="byok.store"):
        keys.delete(ids[5], "anthropic")
    assert any(
        getattr(r, "byok_meta", {}).get("event") == "wal_purge_incomplete" for r in caplog.records
    )
    reader.execute("COMMIT")
    reader.close()
    assert keys.purge_residue() is True
    assert residue(db_file_bytes(path), needle) == []
    db.close()


def _events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [getattr(r, "byok_meta", {}).get("event") for r in caplog.records]


def test_a_blocked_purge_is_retried_in_the_background_without_another_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "retry.sqlite3"
    db = SqliteDatabase(path, purge_retry_s=0.1)
    db.init_schema()
    keys = SqlKeyStore(db)
    ids = _fill(keys, db, 20, "u")
    needle = os.urandom(174)
    keys.put(_key(ids[5], needle))
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM provider_keys").fetchone()
    keys.put(_key(ids[6], os.urandom(174)))
    caplog.set_level("INFO", logger="byok.store")
    try:
        assert keys.delete(ids[5], "anthropic") is True
        assert residue(db_file_bytes(path), needle) != []
        retry = next(t for t in threading.enumerate() if t.name == "byok-wal-purge-retry")
    finally:
        reader.execute("COMMIT")
        reader.close()
    retry.join(timeout=30)  # no further write: only the background retry can purge now
    db.close()
    assert residue(db_file_bytes(path), needle) == [], "nothing purged the WAL once the reader left"
    events = _events(caplog)
    assert events[0] == "wal_purge_incomplete" and "wal_purge_completed" in events


def test_close_stops_a_retry_that_cannot_succeed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "stuck.sqlite3"
    db = SqliteDatabase(path, purge_retry_s=0.05)
    db.init_schema()
    keys = SqlKeyStore(db)
    ids = _fill(keys, db, 3, "u")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM provider_keys").fetchone()
    keys.put(_key(ids[1], os.urandom(174)))
    caplog.set_level("INFO", logger="byok.store")
    try:
        keys.delete(ids[0], "anthropic")
        retry = next(t for t in threading.enumerate() if t.name == "byok-wal-purge-retry")
        db.close()
        assert not retry.is_alive()
    finally:
        reader.execute("COMMIT")
        reader.close()
    assert "wal_purge_abandoned" in _events(caplog)
    assert "wal_purge_completed" not in _events(caplog)


def test_a_signup_racing_another_for_the_same_name_gets_name_taken(
    request: pytest.FixtureRequest,
) -> None:
    """PostgreSQL, READ COMMITTED: the racing insert passes any prior check, blocks on the unique
    index, and fails once the other transaction commits; that must surface as NameTaken."""
    dsn = request.getfixturevalue("postgres_dsn")
    db = open_database(dsn)
    db.init_schema()
    outcome: dict[str, object] = {}

    def signup() -> None:
        try:
            outcome["user"] = UserStore(db).add("bob", os.urandom(32))
        except Exception as error:  # the test reports whatever it was
            outcome["error"] = error

    with psycopg.connect(dsn) as other, psycopg.connect(dsn, autocommit=True) as watcher:
        other.execute(
            "INSERT INTO users (user_id, name, token_sha256, created_at) VALUES (%s, %s, %s, %s)",
            ("other", "bob", os.urandom(32), utc_now()),
        )
        racer = threading.Thread(target=signup)
        racer.start()
        for _ in range(600):  # until the racing INSERT waits on the other's uncommitted row
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()
            if waiting and waiting[0]:
                break
            racer.join(0.05)
        other.commit()
        racer.join(30)
    assert isinstance(outcome.get("error"), NameTaken), outcome


def test_an_unanswering_postgres_server_fails_with_a_timeout() -> None:
    """A listener that never speaks: without connect_timeout libpq would wait forever."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        outcome: dict[str, Exception] = {}

        def connect() -> None:
            try:
                PostgresDatabase(
                    f"postgresql://byok@127.0.0.1:{port}/byok", connect_timeout_s=2
                ).init_schema()
            except StoreError as error:
                outcome["error"] = error

        attempt = threading.Thread(target=connect, daemon=True)
        attempt.start()
        attempt.join(60)
        assert not attempt.is_alive(), "the connection attempt never gave up"
    assert "timeout" in str(outcome["error"])

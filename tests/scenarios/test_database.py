"""Snapshots, tamper and transplant against real SQLite files."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from byok_audit.scenarios.database import PG_RAW_REASON, PostgresDatabase, SqliteDatabase


@pytest.fixture
def live_db(tmp_path: Path):
    """A WAL-mode database held open by a 'target' connection, as a running server would."""
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE keys (user_id TEXT PRIMARY KEY, record BLOB, label TEXT)")
    conn.execute("INSERT INTO keys VALUES ('u1', ?, 'alpha')", (b"\x01RECORD-ONE",))
    conn.execute("INSERT INTO keys VALUES ('u2', ?, 'beta')", (b"\x01RECORD-TWO",))
    conn.commit()
    yield path, conn
    conn.close()


def test_snapshot_copies_raw_files_and_dumps_rows(live_db) -> None:
    path, _ = live_db
    snap = SqliteDatabase(path).snapshot("s1", 3)
    assert snap.error is None
    names = {f.name for f in snap.raw_files}
    assert names == {"app.db", "app.db-wal"}  # -shm carries no row data and is left out
    wal = next(f for f in snap.raw_files if f.name == "app.db-wal")
    assert b"RECORD-ONE" in wal.content  # committed rows still sit in the WAL: no checkpoint ran
    table = snap.table("keys")
    assert table is not None
    assert table.columns == ["user_id", "record", "label"]
    assert [b"u1", b"\x01RECORD-ONE", b"alpha"] in table.rows
    assert "X'01" + b"RECORD-TWO".hex().upper() + "'" in snap.logical_dump


def test_snapshot_does_not_checkpoint_the_live_database(live_db) -> None:
    path, _ = live_db
    wal_before = Path(f"{path}-wal").read_bytes()
    SqliteDatabase(path).snapshot("s1", 0)
    assert Path(f"{path}-wal").read_bytes() == wal_before


def test_snapshot_of_missing_database_is_an_error_not_an_empty_pass(tmp_path: Path) -> None:
    snap = SqliteDatabase(tmp_path / "nope.db").snapshot("s", 0)
    assert snap.error is not None and "does not exist" in snap.error
    assert snap.tables == []


def test_update_row_keeps_blob_and_text_storage_classes(live_db) -> None:
    path, target_conn = live_db
    db = SqliteDatabase(path)
    assert db.update_row("keys", "record", b"\x01RECORD-ONE", {"record": b"\x01RECORD-XXX"}) == 1
    assert db.update_row("keys", "label", b"beta", {"label": b"gamma"}) == 1
    rows = dict(target_conn.execute("SELECT user_id, record FROM keys"))
    assert rows["u1"] == b"\x01RECORD-XXX"
    assert target_conn.execute("SELECT typeof(label) FROM keys WHERE user_id='u2'").fetchone() == (
        "text",
    )
    assert db.update_row("keys", "record", b"not-there", {"record": b"x"}) == 0


def test_tables_reads_committed_state(live_db) -> None:
    path, target_conn = live_db
    target_conn.execute("DELETE FROM keys WHERE user_id='u2'")
    target_conn.commit()
    _, rows = SqliteDatabase(path).tables()["keys"]
    assert [r[0] for r in rows] == [b"u1"]
    with closing(sqlite3.connect(path)) as check:
        assert check.execute("SELECT count(*) FROM keys").fetchone() == (1,)


def test_postgres_snapshot_is_logical_and_says_raw_bytes_were_not_examined(
    postgres_dsn: str,
) -> None:
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE keys (user_id text PRIMARY KEY, record bytea, label text)")
        conn.execute("INSERT INTO keys VALUES ('u1', %s, 'alpha')", (b"\x01RECORD-ONE",))
    db = PostgresDatabase(postgres_dsn)
    snap = db.snapshot("pg", 2)
    assert snap.error is None and snap.engine == "postgresql"
    assert snap.raw_files == [] and snap.raw_unavailable_reason == PG_RAW_REASON
    table = snap.table("keys")
    assert table is not None and [b"u1", b"\x01RECORD-ONE", b"alpha"] in table.rows
    assert "-- table keys (user_id, record, label)" in snap.logical_dump
    assert "RECORD-ONE" in snap.logical_dump
    assert db.update_row("keys", "record", b"\x01RECORD-ONE", {"record": b"\x01RECORD-XXX"}) == 1
    assert db.tables()["keys"][1] == [[b"u1", b"\x01RECORD-XXX", b"alpha"]]


def test_postgres_snapshot_of_an_unreachable_server_is_an_error() -> None:
    snap = PostgresDatabase("postgresql://nobody@127.0.0.1:9/none?connect_timeout=1").snapshot(
        "x", 0
    )
    assert snap.error is not None and "cannot reach" in snap.error

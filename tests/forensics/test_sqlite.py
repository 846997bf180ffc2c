"""The SQLite locator against real database files written by the sqlite3 module.

secure_delete is set explicitly on every connection: build defaults differ (this Debian build turns it
on), and the residue these tests look for only exists with it off (research crypto-forensics §3.2).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from byok_audit.forensics.sqlite import Area, SqliteFiles, parse_wal

MARKER = b"MARKER-" + b"q7" * 12


def connect(path: Path, *, journal: str = "delete", secure_delete: int = 0) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA secure_delete={secure_delete}")
    conn.execute(f"PRAGMA journal_mode={journal}")
    if journal == "wal":
        conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE api_keys (id INTEGER PRIMARY KEY, user_id TEXT, record BLOB)")
    return conn


def insert(conn: sqlite3.Connection, user: str, record: bytes) -> None:
    conn.execute("INSERT INTO api_keys (user_id, record) VALUES (?, ?)", (user, record))


def files_of(path: Path) -> SqliteFiles:
    return SqliteFiles({p.name: p.read_bytes() for p in path.parent.glob(path.name + "*")})


def marked(size: int = 120) -> bytes:
    return MARKER + os.urandom(size - len(MARKER))


def test_live_row_is_a_live_cell_of_its_table(tmp_path: Path) -> None:
    db = tmp_path / "ref.db"
    conn = connect(db)
    for i in range(3):
        insert(conn, f"u{i}", os.urandom(120))
    insert(conn, "alice", marked())
    conn.close()
    [hit] = files_of(db).find(MARKER)
    assert hit.area is Area.LIVE_CELL
    assert hit.owner == "table api_keys"
    assert hit.page == 2 and hit.live
    assert hit.describe().startswith("ref.db page 2 live cell of table api_keys, offset 0x")


def test_deleted_middle_row_leaves_a_freeblock(tmp_path: Path) -> None:
    db = tmp_path / "ref.db"
    conn = connect(db)
    insert(conn, "u0", os.urandom(120))
    insert(conn, "alice", marked())
    insert(conn, "u2", os.urandom(120))
    conn.execute("DELETE FROM api_keys WHERE user_id = 'alice'")
    conn.close()
    [hit] = files_of(db).find(MARKER)
    assert hit.area is Area.FREEBLOCK
    assert not hit.live
    assert "freeblock" in hit.describe()


def test_deleted_newest_row_returns_to_the_unallocated_gap(tmp_path: Path) -> None:
    """The newest cell sits at the start of the content area; freeing it grows the gap instead."""
    db = tmp_path / "ref.db"
    conn = connect(db)
    insert(conn, "u0", os.urandom(120))
    insert(conn, "alice", marked())
    conn.execute("DELETE FROM api_keys WHERE user_id = 'alice'")
    conn.close()
    [hit] = files_of(db).find(MARKER)
    assert hit.area is Area.UNALLOCATED


def test_secure_delete_leaves_nothing_to_find(tmp_path: Path) -> None:
    db = tmp_path / "ref.db"
    conn = connect(db, secure_delete=1)
    insert(conn, "u0", os.urandom(120))
    insert(conn, "alice", marked())
    insert(conn, "u2", os.urandom(120))
    conn.execute("DELETE FROM api_keys WHERE user_id = 'alice'")
    conn.close()
    assert files_of(db).find(MARKER) == []


def test_overflow_pages_are_live_then_freelist_pages_after_delete(tmp_path: Path) -> None:
    db = tmp_path / "ref.db"
    conn = connect(db)
    big = bytearray(os.urandom(14000))
    tails = [b"TAIL%d-" % i + b"z" * 16 for i in range(3)]
    for i, tail in enumerate(tails):  # one marker on each of three overflow pages
        big[4500 + 4092 * i : 4500 + 4092 * i + len(tail)] = tail
    insert(conn, "u0", os.urandom(100))
    insert(conn, "alice", bytes(big))
    before = files_of(db)
    found = [before.find(tail) for tail in tails]
    assert all(len(hits) == 1 and hits[0].area is Area.OVERFLOW for hits in found)
    assert all(hits[0].live and hits[0].owner == "table api_keys" for hits in found)

    conn.execute("DELETE FROM api_keys WHERE user_id = 'alice'")
    conn.close()
    after = files_of(db)
    areas = {after.find(tail)[0].area for tail in tails}
    assert areas <= {Area.FREELIST_TRUNK, Area.FREELIST_LEAF}
    assert Area.FREELIST_LEAF in areas


def test_index_entries_name_their_index(tmp_path: Path) -> None:
    db = tmp_path / "ref.db"
    conn = connect(db)
    conn.execute("CREATE INDEX api_keys_user ON api_keys (user_id)")
    insert(conn, MARKER.decode(), os.urandom(40))
    conn.close()
    owners = {hit.owner for hit in files_of(db).find(MARKER)}
    assert owners == {"table api_keys", "index api_keys_user on api_keys"}


def test_wal_frames_current_superseded_and_invalid(tmp_path: Path) -> None:
    db = tmp_path / "ref.db"
    conn = connect(db, journal="wal")
    for i in range(4):
        insert(conn, f"u{i}", os.urandom(100))
    insert(conn, "alice", marked())
    insert(conn, "u9", os.urandom(100))
    files = files_of(db)
    hits = files.find(MARKER)
    assert {h.file for h in hits} == {"ref.db-wal"}
    states = {h.wal_state for h in hits}
    assert states == {"current", "superseded"}
    current = next(h for h in hits if h.wal_state == "current")
    assert current.live and current.area is Area.LIVE_CELL and current.page == 2
    assert current.describe().startswith(f"ref.db-wal frame {current.wal_frame} (current) page 2")
    frames = files.wal_frames("ref.db-wal")
    assert [f.number for f in frames] == list(range(1, len(frames) + 1))
    assert frames[-1].commit_size and sum(1 for f in frames if f.commit_size) == 7  # 7 transactions

    # A checkpoint copies the page into the main file; the next write restarts the WAL from frame
    # 1 with new salts, so the old frames behind it become invalid (yet keep their bytes).
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    conn.execute("DELETE FROM api_keys WHERE user_id = 'alice'")
    after = files_of(db)
    by_file: dict[str, list] = {}
    for hit in after.find(MARKER):
        by_file.setdefault(hit.file, []).append(hit)
    [in_main] = by_file["ref.db"]
    assert in_main.area is Area.LIVE_CELL and in_main.superseded_by_frame == 1
    assert not in_main.live and "stale copy: WAL frame 1" in in_main.describe()
    wal_states = {(h.wal_frame == 1, h.wal_state, h.area) for h in by_file["ref.db-wal"]}
    assert (True, "current", Area.FREEBLOCK) in wal_states
    assert any(not first and state == "invalid" for first, state, _ in wal_states)
    conn.close()


def test_persisted_journal_keeps_page_pre_images(tmp_path: Path) -> None:
    db = tmp_path / "ref.db"
    conn = connect(db, journal="persist", secure_delete=1)
    insert(conn, "u0", os.urandom(100))
    insert(conn, "alice", marked())
    insert(conn, "u2", os.urandom(100))
    conn.execute("DELETE FROM api_keys WHERE user_id = 'alice'")
    conn.close()
    [hit] = files_of(db).find(MARKER)  # secure_delete cleaned the database, not the journal
    assert hit.file == "ref.db-journal" and hit.file_kind == "journal"
    assert hit.journal_record == 1 and hit.page == 2
    assert hit.area is Area.LIVE_CELL and not hit.live
    assert "record 1 (pre-image) page 2 cell of an old page version" in hit.describe()


def test_headers_are_named(tmp_path: Path) -> None:
    db = tmp_path / "ref.db"
    conn = connect(db, journal="wal")
    insert(conn, "u0", os.urandom(100))
    files = files_of(db)
    assert files.locate("ref.db-wal", 3).area is Area.WAL_HEADER
    assert files.locate("ref.db-wal", 40).area is Area.WAL_FRAME_HEADER
    assert files.locate("ref.db-shm", 0).area is Area.WAL_INDEX
    conn.close()
    assert files_of(db).locate("ref.db", 10).area is Area.FILE_HEADER


def test_foreign_or_damaged_bytes_give_a_vague_location_not_an_exception() -> None:
    files = SqliteFiles({"x.db": os.urandom(8192), "x.db-wal": os.urandom(5000)})
    assert files.locate("x.db", 5000).area is Area.NOT_SQLITE
    assert files.locate("x.db-wal", 4000).area is Area.NOT_SQLITE
    assert parse_wal(b"\x37\x7f\x06\x82" + os.urandom(40)) == (0, [])


def test_truncated_database_still_locates(tmp_path: Path) -> None:
    db = tmp_path / "ref.db"
    conn = connect(db)
    for i in range(40):
        insert(conn, f"u{i}", os.urandom(300))
    conn.close()
    data = db.read_bytes()[:6000]  # header promises more pages than remain
    files = SqliteFiles({"ref.db": data})
    assert files.locate("ref.db", 5000).page == 2


def test_bad_names_and_offsets_are_named_errors() -> None:
    files = SqliteFiles({"ref.db": b"SQLite format 3\x00" + bytes(84)})
    with pytest.raises(KeyError, match=r"no raw file named 'other\.db'"):
        files.locate("other.db", 0)
    with pytest.raises(ValueError, match=r"outside ref\.db"):
        files.locate("ref.db", 100)


def test_live_journal_mid_transaction_has_a_header_and_records(tmp_path: Path) -> None:
    db = tmp_path / "ref.db"
    conn = connect(db, secure_delete=1)
    insert(conn, "u0", os.urandom(100))
    insert(conn, "alice", marked())
    conn.execute("BEGIN")
    conn.execute("DELETE FROM api_keys WHERE user_id = 'alice'")
    files = files_of(db)  # read while the transaction is open: the journal is live
    conn.execute("ROLLBACK")
    conn.close()
    [hit] = [h for h in files.find(MARKER) if h.file_kind == "journal"]
    assert hit.journal_record == 1 and hit.page == 2 and hit.area is Area.LIVE_CELL
    assert files.locate("ref.db-journal", 0).area is Area.JOURNAL_HEADER

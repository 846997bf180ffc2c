"""ROT-03: hand-made bundles whose raw files come from real SQLite databases."""

from __future__ import annotations

import base64
import os
import sqlite3
from pathlib import Path

from byok_audit.checks.rot.hard_delete import hard_delete
from byok_audit.models.evidence import DbTable
from byok_audit.models.finding import Status
from tests.checks.enc.keystory import Story, aead_record


def sqlite_files(
    tmp_path: Path, rows: dict[str, bytes], remove: str, *, secure_delete: int, journal: str
) -> dict[str, bytes]:
    """A real database that stored ``rows`` and then deleted ``remove``'s row; its raw files."""
    db = tmp_path / "ref.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(f"PRAGMA secure_delete={secure_delete}")
    conn.execute(f"PRAGMA journal_mode={journal}")
    conn.execute("CREATE TABLE provider_keys (id INTEGER PRIMARY KEY, user_id TEXT, record BLOB)")
    for user, record in rows.items():
        conn.execute("INSERT INTO provider_keys (user_id, record) VALUES (?, ?)", (user, record))
    conn.execute("DELETE FROM provider_keys WHERE user_id = ?", (remove,))
    files = {p.name: p.read_bytes() for p in tmp_path.glob("ref.db*")}
    conn.close()
    return files


def deleting(
    tmp_path: Path, *, secure_delete: int = 1, journal: str = "delete", soft: bool = False
):
    story = Story()
    records = {"alice": aead_record(), "bob": aead_record()}
    for user, record in records.items():
        story.put(user, f"k-{user}", record)
        story.snap(f"after-put-{user}")
    story.delete("alice", soft=soft)
    raw = sqlite_files(tmp_path, records, "alice", secure_delete=secure_delete, journal=journal)
    story.snap("after-delete", raw=raw)
    return story, records["alice"]


def test_clean_delete_passes(tmp_path: Path) -> None:
    story, _ = deleting(tmp_path)
    result = hard_delete.run(story.bundle(key_table="provider_keys", key_column="record"))
    assert result.status == Status.PASS, result.evidence
    assert "no byte of the deleted records in the raw files" in result.summary
    assert "raw files examined: 'after-delete': 1 raw file(s) (ref.db, " in result.summary


def test_freeblock_residue_fails_with_its_location(tmp_path: Path) -> None:
    story, _ = deleting(tmp_path, secure_delete=0)
    result = hard_delete.run(story.bundle())
    assert result.status == Status.FAIL
    [hit] = result.evidence
    assert hit.ref.startswith("snapshot 'after-delete' ref.db page 2 ")
    assert "residue" in hit.detail and "deleted by step 4 (delete_key by alice)" in hit.detail


def test_wal_frames_keep_the_record_even_with_secure_delete(tmp_path: Path) -> None:
    story, _ = deleting(tmp_path, journal="wal")
    result = hard_delete.run(story.bundle())
    assert result.status == Status.FAIL
    assert all("ref.db-wal frame" in e.ref for e in result.evidence)


def test_soft_delete_fails_on_the_logical_side(tmp_path: Path) -> None:
    story, _ = deleting(tmp_path, soft=True)
    result = hard_delete.run(story.bundle())
    assert result.status == Status.FAIL
    details = " ".join(e.detail for e in result.evidence)
    assert "its row is still there" in details
    assert "soft-delete mark '2026-01-01T00:00:00'" in details


def test_history_table_copy_fails(tmp_path: Path) -> None:
    story = Story()
    record = aead_record()
    story.put("alice", "k1", record)
    story.snap("after-put")
    story.delete("alice")
    story.extra_tables = [
        DbTable(name="key_audit", columns=["id", "old"], rows=[[1, base64.b64encode(record)]])
    ]
    story.snap("after-delete", engine="postgresql", raw_unavailable_reason="logical dump only")
    result = hard_delete.run(story.bundle(key_table="provider_keys", key_column="record"))
    assert result.status == Status.FAIL
    assert "another table keeps a copy" in result.evidence[0].detail
    assert result.evidence[0].ref == "snapshot 'after-delete' key_audit.old row 1"


def test_postgresql_judges_the_logical_side_and_says_raw_was_not_applicable() -> None:
    story = Story()
    story.put("alice", "k1")
    story.snap("after-put", engine="postgresql", raw_unavailable_reason="pg_dump only")
    story.delete("alice")
    story.snap("after-delete", engine="postgresql", raw_unavailable_reason="pg_dump only")
    result = hard_delete.run(story.bundle())
    assert result.status == Status.PASS
    assert (
        "raw bytes NOT_APPLICABLE for 1 snapshot ('after-delete'): pg_dump only" in result.summary
    )


def test_missing_evidence_is_an_error() -> None:
    story = Story()
    story.put("alice", "k1", os.urandom(136))
    story.snap("after-put")
    assert hard_delete.run(story.bundle()).status == Status.ERROR  # no delete
    story.delete("alice")
    story.snap("after-delete")  # sqlite, but no raw files and no reason
    result = hard_delete.run(story.bundle())
    assert result.status == Status.ERROR
    assert "has no raw files and gives no reason" in result.summary

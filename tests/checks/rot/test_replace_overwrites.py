"""ROT-04: hand-made bundles whose raw files come from real SQLite databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from byok_audit.checks.rot.replace_overwrites import replace_overwrites
from byok_audit.models.evidence import DbTable
from byok_audit.models.finding import Status
from tests.checks.enc.keystory import Story, aead_record


def replacing(tmp_path: Path, *, secure_delete: int) -> Story:
    """alice's record is replaced (UPDATE with a different-size value) in a real database."""
    old, new = aead_record(), aead_record(140)
    db = tmp_path / "ref.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(f"PRAGMA secure_delete={secure_delete}")
    conn.execute("CREATE TABLE provider_keys (id INTEGER PRIMARY KEY, user_id TEXT, record BLOB)")
    conn.execute("INSERT INTO provider_keys (user_id, record) VALUES ('alice', ?)", (old,))
    conn.execute("INSERT INTO provider_keys (user_id, record) VALUES ('bob', ?)", (aead_record(),))
    conn.execute("UPDATE provider_keys SET record = ? WHERE user_id = 'alice'", (new,))
    conn.close()
    story = Story()
    story.put("alice", "k1", old)
    story.snap("after-put")
    story.put("alice", "k2", new)
    story.snap("after-replace", raw={"ref.db": db.read_bytes()})
    return story


def test_overwritten_in_place_passes(tmp_path: Path) -> None:
    result = replace_overwrites.run(replacing(tmp_path, secure_delete=1).bundle())
    assert result.status == Status.PASS, result.evidence
    assert "no copy of a replaced record in any table nor in the raw files" in result.summary


def test_old_record_left_in_free_space_fails(tmp_path: Path) -> None:
    result = replace_overwrites.run(replacing(tmp_path, secure_delete=0).bundle())
    assert result.status == Status.FAIL
    assert "replaced by step 2 (put_key by alice)" in result.evidence[0].detail
    assert "residue" in result.evidence[0].detail


def test_key_history_table_fails(tmp_path: Path) -> None:
    story = Story()
    old = story.put("alice", "k1") and story.rows["alice"][2]
    story.snap("after-put", engine="postgresql", raw_unavailable_reason="logical dump only")
    story.put("alice", "k2")
    story.extra_tables = [DbTable(name="key_history", columns=["record"], rows=[[old]])]
    story.snap("after-replace", engine="postgresql", raw_unavailable_reason="logical dump only")
    result = replace_overwrites.run(story.bundle(key_table="provider_keys", key_column="record"))
    assert result.status == Status.FAIL
    assert result.evidence[0].ref == "snapshot 'after-replace' key_history.record row 1"
    assert "raw bytes NOT_APPLICABLE" in result.summary


def test_no_replace_or_no_snapshot_after_is_an_error() -> None:
    story = Story()
    story.put("alice", "k1")
    story.snap("after-put")
    assert replace_overwrites.run(story.bundle()).status == Status.ERROR
    story.put("alice", "k2")
    result = replace_overwrites.run(story.bundle())
    assert result.status == Status.ERROR
    assert "no database snapshot right after step 2 (put_key by alice)" in result.summary

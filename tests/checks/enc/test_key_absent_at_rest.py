"""ENC-01 on snapshots of real SQLite databases (cells, dump, raw bytes) and dump-only snapshots."""

from __future__ import annotations

import base64
from pathlib import Path

from byok_audit.checks.enc.key_absent_at_rest import key_absent_at_rest
from byok_audit.models.finding import Status
from tests import builders as b
from tests.checks.enc.keystory import Story, aead_record, sqlite_snapshot

CREATE = (
    "CREATE TABLE provider_keys (id INTEGER PRIMARY KEY, user_id TEXT, record BLOB, last4 TEXT)",
    (),
)
INSERT = "INSERT INTO provider_keys (user_id, record, last4) VALUES (?, ?, ?)"


def run_with(tmp_path: Path, make_rows, **options) -> object:
    story = Story()
    value = story.key("k1", "alice").value
    snap = sqlite_snapshot(tmp_path, "after-put", [CREATE, *make_rows(value)], **options)
    story.put("alice", "k1")
    story.snapshots = [snap]
    return key_absent_at_rest.run(story.bundle())


def test_encrypted_record_passes_and_says_what_was_scanned(tmp_path: Path) -> None:
    result = run_with(tmp_path, lambda k: [(INSERT, ("alice", aead_record(), k[-4:]))])
    assert result.status == Status.PASS
    assert result.summary.startswith("scanned 1 snapshot (logical ")
    assert "1 raw file 8 KiB): no key in any encoding" in result.summary


def test_plaintext_key_fails_in_the_cell_and_in_the_live_page(tmp_path: Path) -> None:
    result = run_with(tmp_path, lambda k: [(INSERT, ("alice", k.encode(), k[-4:]))])
    assert result.status == Status.FAIL
    refs = [e.ref for e in result.evidence]
    assert "snapshot 'after-put' provider_keys.record row 1" in refs
    raw = next(e for e in result.evidence if "ref.db page" in e.ref)
    assert "live cell of table provider_keys" in raw.ref and raw.detail.startswith("live data: ")


def test_plaintext_overwritten_by_ciphertext_still_fails_as_residue(tmp_path: Path) -> None:
    def rows(value: str) -> list[tuple[str, tuple]]:
        return [
            (INSERT, ("bob", aead_record(), "xxxx")),
            (INSERT, ("alice", base64.b64encode(value.encode()), value[-4:])),
            (INSERT, ("carol", aead_record(), "yyyy")),
            # a larger record does not fit the freed cell, so the old bytes stay as a freeblock
            ("UPDATE provider_keys SET record = ? WHERE user_id = 'alice'", (aead_record(300),)),
        ]

    result = run_with(tmp_path, rows, secure_delete=0)
    assert result.status == Status.FAIL
    [hit] = result.evidence  # the cells are clean; the old bytes are not
    assert "ref.db page 2 freeblock" in hit.ref
    assert hit.detail.startswith("residue: ") and " as base64 " in hit.detail


def test_wal_frames_are_scanned(tmp_path: Path) -> None:
    def rows(value: str) -> list[tuple[str, tuple]]:
        return [(INSERT, ("alice", value.encode(), value[-4:])), ("DELETE FROM provider_keys", ())]

    result = run_with(tmp_path, rows, journal="wal", secure_delete=1)
    assert result.status == Status.FAIL
    assert all("ref.db-wal frame" in e.ref for e in result.evidence)


def test_dump_only_snapshot_is_judged_and_says_raw_was_not_examined() -> None:
    story = Story()
    value = story.key("k1", "alice").value
    clean = b.snapshot(
        "pg",
        1,
        engine="postgresql",
        raw_unavailable_reason="pg_dump only",
        logical_dump="INSERT INTO provider_keys VALUES (1, 'opaque');",
    )
    story.put("alice", "k1")
    story.snapshots = [clean]
    result = key_absent_at_rest.run(story.bundle())
    assert result.status == Status.PASS
    assert "raw bytes not examined for 1 snapshot ('pg'): pg_dump only" in result.summary

    leaked = clean.model_copy(
        update={"logical_dump": "x\nINSERT INTO k VALUES ('" + value.encode().hex() + "');\n"}
    )
    story.snapshots = [leaked]
    result = key_absent_at_rest.run(story.bundle())
    assert result.status == Status.FAIL
    assert result.evidence[0].ref == "snapshot 'pg' logical dump line 2"
    assert value not in result.model_dump_json()


def test_missing_or_incomplete_snapshots_are_errors() -> None:
    story = Story()
    story.put("alice", "k1")
    assert key_absent_at_rest.run(story.bundle()).status == Status.ERROR  # no snapshot
    story.snapshots = [b.snapshot("s", 1, error="permission denied")]
    assert "permission denied" in key_absent_at_rest.run(story.bundle()).summary
    story.snapshots = [b.snapshot("s", 1, logical_dump="CREATE TABLE t(x);")]
    result = key_absent_at_rest.run(story.bundle())
    assert result.status == Status.ERROR
    assert "has no raw files and gives no reason" in result.summary


def test_a_leak_is_reported_even_when_another_snapshot_failed() -> None:
    story = Story()
    value = story.key("k1", "alice").value
    story.put("alice", "k1")
    story.snapshots = [
        b.snapshot("bad", 1, error="locked"),
        b.snapshot(
            "pg",
            2,
            engine="postgresql",
            raw_unavailable_reason="dump only",
            logical_dump=f"'{value}'",
        ),
    ]
    assert key_absent_at_rest.run(story.bundle()).status == Status.FAIL

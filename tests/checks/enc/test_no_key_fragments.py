"""ENC-02 on snapshots of real SQLite databases."""

from __future__ import annotations

from pathlib import Path

from byok_audit.checks.enc.no_key_fragments import no_key_fragments
from byok_audit.models.finding import Status
from tests.checks.enc.keystory import Story, aead_record, sqlite_snapshot

CREATE = ("CREATE TABLE provider_keys (user_id TEXT, record BLOB, shown TEXT)", ())
INSERT = "INSERT INTO provider_keys VALUES ('alice', ?, ?)"


def run_with(tmp_path: Path, shown, **target) -> object:
    story = Story()
    value = story.key("k1", "alice").value
    story.put("alice", "k1")
    story.snapshots = [
        sqlite_snapshot(tmp_path, "after-put", [CREATE, (INSERT, (aead_record(), shown(value)))])
    ]
    return no_key_fragments.run(story.bundle(**target))


def test_display_suffix_alone_passes(tmp_path: Path) -> None:
    result = run_with(tmp_path, lambda key: "…" + key[-4:])
    assert result.status == Status.PASS
    assert "no run of 8+ key characters beyond the 4-character display suffix" in result.summary


def test_a_masked_copy_showing_more_fails(tmp_path: Path) -> None:
    result = run_with(tmp_path, lambda key: key[:25] + "…" + key[-4:])
    assert result.status == Status.FAIL
    assert any("as fragment" in e.detail for e in result.evidence)
    assert any("live cell" in e.ref for e in result.evidence)


def test_a_longer_suffix_is_fine_only_when_declared(tmp_path: Path) -> None:
    assert run_with(tmp_path, lambda key: key[-10:]).status == Status.FAIL
    assert run_with(tmp_path, lambda key: key[-10:], display_suffix_len=10).status == Status.PASS


def test_no_put_is_an_error() -> None:
    assert no_key_fragments.run(Story().bundle()).status == Status.ERROR

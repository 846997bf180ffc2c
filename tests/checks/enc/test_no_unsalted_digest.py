"""ENC-03 on snapshots of real SQLite databases."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

from byok_audit.checks.enc.no_unsalted_digest import no_unsalted_digest
from byok_audit.models.finding import Status
from tests.checks.enc.keystory import Story, aead_record, sqlite_snapshot

CREATE = ("CREATE TABLE provider_keys (user_id TEXT, record BLOB, fingerprint TEXT)", ())
INSERT = "INSERT INTO provider_keys VALUES ('alice', ?, ?)"


def run_with(tmp_path: Path, fingerprint) -> object:
    story = Story()
    value = story.key("k1", "alice").value.encode()
    story.put("alice", "k1")
    rows = [CREATE, (INSERT, (aead_record(), fingerprint(value)))]
    story.snapshots = [sqlite_snapshot(tmp_path, "after-put", rows)]
    return no_unsalted_digest.run(story.bundle())


def test_keyed_fingerprint_passes(tmp_path: Path) -> None:
    result = run_with(tmp_path, lambda k: hmac.new(b"server secret", k, "sha256").hexdigest())
    assert result.status == Status.PASS
    assert "no sha256/sha1/md5 of any key" in result.summary


def test_plain_sha256_fails(tmp_path: Path) -> None:
    result = run_with(tmp_path, lambda k: hashlib.sha256(k).hexdigest())
    assert result.status == Status.FAIL
    assert any("as sha256-hex" in e.detail for e in result.evidence)


def test_md5_in_base64_fails(tmp_path: Path) -> None:
    result = run_with(tmp_path, lambda k: base64.b64encode(hashlib.md5(k).digest()).decode())  # noqa: S324
    assert result.status == Status.FAIL


def test_no_put_is_an_error() -> None:
    assert no_unsalted_digest.run(Story().bundle()).status == Status.ERROR

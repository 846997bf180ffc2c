"""ENC-08: the harness-made master secret in any source the audit saw."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from byok_audit.checks.enc.master_secret_absent import master_secret_absent
from byok_audit.models.finding import Status
from tests import builders as b
from tests.checks.enc.keystory import Story, aead_record, sqlite_snapshot

CREATE = ("CREATE TABLE settings (name TEXT, value BLOB)", ())
INSERT = "INSERT INTO settings VALUES (?, ?)"
Make = Callable[[str], bytes]


def audited(
    tmp_path: Path,
    *,
    stored: Make = lambda m: aead_record(),
    log: Make = lambda m: b"started\n",
    reply: Make = lambda m: b"{}",
    sent: Make = lambda m: b"{}",
    handed_over: bool = True,
) -> object:
    """One of each source; each maker gets the master secret and returns that source's bytes."""
    story = Story()
    master = story.canaries.get("master").value
    story.put("alice", "k1")
    story.snapshots = [sqlite_snapshot(tmp_path, "s", [CREATE, (INSERT, ("kdf", stored(master)))])]
    story.get("alice", body=reply(master))
    story.upstream(None, host="telemetry.example", request_body=sent(master))
    bundle = story.bundle(master_secret_set=handed_over)
    files = [b.captured(log(master))]
    return master_secret_absent.run(bundle.model_copy(update={"files": files}))


def test_clean_sources_pass_and_list_what_was_scanned(tmp_path: Path) -> None:
    result = audited(tmp_path)
    assert result.status == Status.PASS
    for source in (
        "1 snapshot",
        "1 raw file",
        "1 captured file",
        "2 API responses",
        "1 outbound exchange",
    ):
        assert source in result.summary


def test_not_applicable_without_a_harness_master_secret(tmp_path: Path) -> None:
    result = audited(tmp_path, log=str.encode, handed_over=False)
    assert result.status == Status.NOT_APPLICABLE
    assert "{master_secret} unused" in result.summary


def test_binary_master_key_in_a_settings_table_fails(tmp_path: Path) -> None:
    result = audited(tmp_path, stored=bytes.fromhex)
    assert result.status == Status.FAIL
    assert any(e.ref == "snapshot 's' settings.value row 1" for e in result.evidence)
    assert any("hex-decoded" in e.detail for e in result.evidence)
    assert any("live cell of table settings" in e.ref for e in result.evidence)


def test_fragment_in_a_log_fails(tmp_path: Path) -> None:
    result = audited(tmp_path, log=lambda m: f"debug: master prefix {m[:20]}...\n".encode())
    assert result.status == Status.FAIL
    assert result.evidence[0].ref == "app.log:1" and "fragment" in result.evidence[0].detail


def test_in_an_api_response_fails(tmp_path: Path) -> None:
    result = audited(tmp_path, reply=lambda m: f'{{"debug": {{"MASTER_KEY": "{m}"}}}}'.encode())
    assert result.status == Status.FAIL
    assert "in the API response" in result.evidence[0].detail


def test_base64_in_egress_fails(tmp_path: Path) -> None:
    result = audited(tmp_path, sent=lambda m: base64.b64encode(f"MASTER_KEY={m}".encode()))
    assert result.status == Status.FAIL
    assert result.evidence[0].ref.startswith("exchange ")
    assert "sent by the target" in result.evidence[0].detail


def test_no_snapshot_is_an_error() -> None:
    story = Story()
    story.put("alice", "k1")
    assert master_secret_absent.run(story.bundle(master_secret_set=True)).status == Status.ERROR

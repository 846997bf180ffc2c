"""ENC-04 on hand-made bundles: three puts of one key, nonce grouping, keystream reuse."""

from __future__ import annotations

import os
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from byok_audit.checks.enc.randomized import randomized
from byok_audit.models.finding import Status
from tests.checks.enc.keystory import Story

AES = AESGCM(AESGCM.generate_key(bit_length=256))


def gcm(story: Story, key_id: str, nonce: bytes | None = None) -> bytes:
    nonce = nonce or os.urandom(12)
    return nonce + AES.encrypt(nonce, story.canaries.get(key_id).value.encode(), None)


def three_puts(records=(None, None, None), **put_options) -> Story:
    """alice puts key k1, alice puts k1 again, bob puts k1; a snapshot after each."""
    story = Story()
    story.key("k1", "alice")
    for (user, record), options in zip(
        (("alice", records[0]), ("alice", records[1]), ("bob", records[2])),
        ({}, put_options, {}),
        strict=True,
    ):
        story.put(user, "k1", record, **options)
        story.snap()
    return story


def test_three_different_values_pass() -> None:
    story = Story()
    story.key("k1", "alice")
    records = [gcm(story, "k1") for _ in range(3)]
    story = three_puts(records)
    story.canaries = (
        story.canaries
    )  # records were made with another table's key; shape is what counts
    result = randomized.run(story.bundle())
    assert result.status == Status.PASS, result.summary
    assert "3 puts of a repeated key compared in provider_keys.record" in result.summary
    assert "found by diffing snapshots around put_key steps" in result.summary


def test_same_value_for_two_users_fails() -> None:
    shared = os.urandom(136)
    result = randomized.run(three_puts((shared, os.urandom(136), shared)).bundle())
    assert result.status == Status.FAIL
    assert any("byte-identical values" in e.detail for e in result.evidence)


def test_same_user_rewrite_with_identical_value_fails() -> None:
    same = os.urandom(136)
    result = randomized.run(three_puts((same, same, os.urandom(136))).bundle())
    assert result.status == Status.FAIL
    assert "rewrote the row but left the stored value byte-identical" in result.evidence[0].detail


def test_repeat_put_that_touched_nothing_warns() -> None:
    result = randomized.run(three_puts(touch=False).bundle())
    assert result.status == Status.WARN
    assert "left the key table untouched" in result.evidence[0].detail


def test_static_nonce_fails() -> None:
    story = Story()
    fixed = os.urandom(12)
    for user, key_id in (("alice", "k1"), ("alice", "k1"), ("bob", "k1"), ("carol", "k3")):
        story.key(key_id, user)
        story.put(user, key_id, gcm(story, key_id, fixed))
        story.snap()
    result = randomized.run(story.bundle(key_table="provider_keys", key_column="record"))
    assert result.status == Status.FAIL
    details = " ".join(e.detail for e in result.evidence)
    assert "share one nonce under one key (layout nonce|ct|tag)" in details
    assert "keystream" in details  # k1 vs k3 under one key and nonce


def test_keystream_reuse_behind_a_per_record_header_fails() -> None:
    """The header claims per-record keys (random KDF input) but one key and nonce sealed both."""
    story = Story()
    nonce = os.urandom(12)

    def v1(key_id: str) -> bytes:
        header = struct.pack(">BBI", 1, 1, 9) + os.urandom(32)
        return header + nonce + AES.encrypt(nonce, story.canaries.get(key_id).value.encode(), None)

    for user, key_id in (("alice", "k1"), ("alice", "k1"), ("bob", "k1"), ("bob", "k2")):
        story.key(key_id, user)
        story.put(user, key_id, v1(key_id))
        story.snap()
    result = randomized.run(story.bundle())
    assert result.status == Status.FAIL
    assert len(result.evidence) == 3  # each k1 record against the k2 record
    assert all("XOR to the XOR of their keys at byte 50" in e.detail for e in result.evidence)


def test_missing_cross_user_put_is_an_error() -> None:
    story = Story()
    story.put("alice", "k1")
    story.snap()
    story.put("alice", "k1")
    story.snap()
    result = randomized.run(story.bundle())
    assert result.status == Status.ERROR
    assert "put twice by the same user and once by another user" in result.summary


def test_failed_snapshot_is_an_error() -> None:
    story = three_puts()
    story.snapshots[1] = story.snapshots[1].model_copy(update={"error": "database locked"})
    result = randomized.run(story.bundle(key_table="provider_keys", key_column="record"))
    assert result.status == Status.ERROR
    assert "database locked" in result.summary

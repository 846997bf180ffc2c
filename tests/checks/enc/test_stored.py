"""The stored-key helpers: where the key column is, which snapshot surrounds a step, what a put wrote."""

from __future__ import annotations

import os

import pytest

from byok_audit.checks.base import EvidenceMissing
from byok_audit.checks.enc.stored import (
    KeyColumn,
    describe_credential,
    held_key,
    key_column,
    snapshot_after,
    snapshot_before,
    stored_value,
    written,
)
from tests import builders as b
from tests.checks.enc.keystory import Story

COLUMN = KeyColumn("provider_keys", "record", "test")


def test_key_column_precedence() -> None:
    story = Story()
    story.put("alice", "k1")
    story.snap()
    assert key_column(story.bundle(key_table="t", key_column="c")).how == "declared by the profile"
    found = key_column(story.bundle())
    assert (found.table, found.column) == ("provider_keys", "record")
    assert found.how == "found by diffing snapshots around put_key steps 0"
    story.steps[0] = story.steps[0].model_copy(
        update={"data": {"stored_table": "secrets", "stored_column": "blob"}}
    )
    assert str(key_column(story.bundle())) == "secrets.blob"
    story.tamper("alice")
    assert str(key_column(story.bundle())) == "provider_keys.record"  # the tamper step names it


def test_key_column_unknown_is_missing_evidence() -> None:
    story = Story()
    story.put("alice", "k1")
    with pytest.raises(EvidenceMissing, match="cannot locate the stored key"):
        key_column(story.bundle())


def test_snapshots_tie_to_steps_by_order_across_scenarios() -> None:
    story = Story()
    first = story.snap("scenario-a.end")
    story.step("create_user", "alice")  # not key-changing: the earlier snapshot still counts
    story.put("alice", "k1")
    put = story.steps[-1]
    after = story.snap("scenario-b.after-put")
    story.put("bob", "k2")
    story.snap("late")
    bundle = story.bundle()
    assert snapshot_before(bundle, put) == first
    assert snapshot_after(bundle, put) == after


def test_key_changing_step_in_between_breaks_the_tie() -> None:
    story = Story()
    story.put("alice", "k1")
    story.put("bob", "k2")
    story.snap()
    assert snapshot_after(story.bundle(), story.steps[0]) is None
    with pytest.raises(EvidenceMissing, match="no database snapshot right after step 0"):
        written(story.bundle(), story.steps[0], COLUMN)


def test_owner_row_settles_an_ambiguous_diff() -> None:
    """Rows left by an earlier scenario, and no quiet snapshot before the put."""
    story = Story()
    story.put("old-scenario.carol", "k0")
    story.put("alice", "k1")
    alice_put = story.steps[-1]
    story.snap()
    record = story.rows["alice"][2]
    assert stored_value(story.bundle(), alice_put, COLUMN) == record

    story.put("alice", "k1", record)  # rewritten identically: nothing new
    story.snap()
    assert written(story.bundle(), story.steps[-2], COLUMN).values == ()


def test_held_key_follows_puts_and_deletes() -> None:
    story = Story()
    story.put("alice", "k1")
    story.put("alice", "k2", status=403)
    story.put("bob", "k3")
    story.step("put_key", "bob", params={"key": "k9", "against": "alice"})
    story.delete("alice")
    bundle = story.bundle()
    assert held_key(bundle, "alice", 2) == "k1"  # the refused put changed nothing
    assert held_key(bundle, "alice", 5) is None
    assert held_key(bundle, "bob", 5) == "k3"  # an attack on alice's slot is not bob's key


def test_held_key_follows_a_transplant_into_the_row() -> None:
    story = Story()
    story.put("alice", "k1")
    story.put("bob", "k2")
    story.transplant("alice", "bob")
    story.put("alice", "k3")
    bundle = story.bundle()
    assert held_key(bundle, "bob", 2) == "k2"
    assert held_key(bundle, "bob", 3) == "k1"  # bob's row now holds alice's record
    assert held_key(bundle, "bob", 4) == "k1"  # alice replacing hers does not change bob's row


def test_describe_credential_never_shows_a_value() -> None:
    story = Story()
    key = story.key("k1", "alice")
    record = os.urandom(100)
    cases = [
        ([("x-api-key", key.value)], "key:k1 (sk-ant-api03-…#"),
        ([("authorization", "Bearer ")], "an empty key"),
        ([], "no key header"),
        ([("x-api-key", record.hex())], "the stored record itself (r)"),
        ([("x-api-key", "sk-ant-api03-zzzz")], "an unknown value #"),
    ]
    bundle = story.bundle()
    for headers, expected in cases:
        exchange = b.exchange(request_headers=headers)
        assert describe_credential(exchange, bundle, {"r": record}).startswith(expected)

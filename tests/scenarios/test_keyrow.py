"""Locating a stored key by diffing, flipping one bit, choosing transplant columns."""

from __future__ import annotations

import base64
import os

import pytest

from byok_audit.scenarios.keyrow import (
    KeyCell,
    current_row,
    flip_one_bit,
    locate_new_key,
    transplant_values,
)

RECORD_A = b"\x01\x01" + os.urandom(60)
RECORD_B = b"\x01\x01" + os.urandom(60)


def rows(*table_rows):
    return {
        "users": (["id", "name"], [[1, b"alice"], [2, b"bob"]]),
        "keys": (["id", "user_id", "record", "last4"], [list(r) for r in table_rows]),
    }


def test_locate_finds_the_new_long_value() -> None:
    before = rows()
    after = rows((1, b"u-alice", RECORD_A, b"AbCd"))
    cell = locate_new_key(before, after)
    assert cell is not None
    assert (cell.table, cell.column, cell.value) == ("keys", "record", RECORD_A)


def test_locate_on_replace_ignores_unchanged_rows() -> None:
    before = rows((1, b"u-alice", RECORD_A, b"AbCd"), (2, b"u-bob", RECORD_B, b"WxYz"))
    new = os.urandom(70)
    after = rows((1, b"u-alice", new, b"EfGh"), (2, b"u-bob", RECORD_B, b"WxYz"))
    cell = locate_new_key(before, after)
    assert cell is not None and cell.value == new


def test_locate_respects_profile_hints_and_reports_nothing_when_nothing_changed() -> None:
    before = rows((1, b"u-alice", RECORD_A, b"AbCd"))
    assert locate_new_key(before, before) is None
    after = rows((1, b"u-alice", RECORD_A, b"AbCd"), (2, b"u-bob", RECORD_B, b"WxYz"))
    assert locate_new_key(before, after, table_hint="users") is None
    cell = locate_new_key(before, after, table_hint="keys", column_hint="record")
    assert cell is not None and cell.value == RECORD_B


def test_current_row_follows_the_value() -> None:
    cell = KeyCell(
        "keys", "record", ("id", "user_id", "record", "last4"), (1, b"u", RECORD_A, b"x")
    )
    assert current_row(rows((9, b"u", RECORD_A, b"y")), cell).row[0] == 9
    assert current_row(rows(), cell) is None


@pytest.mark.parametrize(
    "encode",
    [
        lambda b: b,
        lambda b: b.hex().encode(),
        lambda b: b.hex().upper().encode(),
        lambda b: base64.b64encode(b),
        lambda b: base64.urlsafe_b64encode(b).rstrip(b"="),
        lambda b: b"v1:" + base64.b64encode(b[:12]) + b":" + base64.b64encode(b[12:]),
        lambda b: (
            b'{"iv": "' + b[:12].hex().encode() + b'", "ct": "' + base64.b64encode(b[12:]) + b'"}'
        ),
    ],
    ids=["blob", "hex", "HEX", "base64", "base64url", "iv:ct", "json"],
)
def test_flip_one_bit_changes_exactly_one_decoded_bit_and_keeps_the_shape(encode) -> None:
    raw = bytes(range(7, 7 + 64))
    stored = encode(raw)
    flipped, where = flip_one_bit(stored)
    assert flipped != stored and len(flipped) == len(stored)
    assert where
    if stored == raw:
        diff = [a ^ b for a, b in zip(stored, flipped, strict=True) if a != b]
        assert diff == [1]


def test_flip_refuses_empty_values() -> None:
    with pytest.raises(ValueError, match="empty"):
        flip_one_bit(b"")


def test_transplant_copies_key_material_but_not_the_owner() -> None:
    columns = ("id", "user_id", "record", "nonce", "last4", "created_at")
    alice = KeyCell("keys", "record", columns, (1, b"u-alice", RECORD_A, b"n1", b"AAAA", b"t1"))
    bob = KeyCell("keys", "record", columns, (2, b"u-bob", RECORD_B, b"n2", b"BBBB", b"t2"))
    values = transplant_values(alice, bob, identity={b"u-bob", b"bob"})
    assert values == {"record": RECORD_A, "nonce": b"n1", "last4": b"AAAA", "created_at": b"t1"}


def test_a_head_flip_lands_in_the_leading_bytes_and_a_tail_flip_past_the_middle() -> None:
    raw = bytes(range(7, 7 + 64))
    head, _ = flip_one_bit(raw, "head")
    tail, _ = flip_one_bit(raw, "tail")
    assert [i for i, (a, b) in enumerate(zip(raw, head, strict=True)) if a != b] == [4]
    assert [i for i, (a, b) in enumerate(zip(raw, tail, strict=True)) if a != b] == [48]


def test_a_head_flip_in_text_goes_to_the_first_token_the_iv() -> None:
    iv, ct = bytes(range(16)), bytes(range(100, 148))
    stored = base64.b64encode(iv) + b":" + base64.b64encode(ct)
    flipped, where = flip_one_bit(stored, "head")
    new_iv, new_ct = (base64.b64decode(part) for part in flipped.split(b":"))
    assert new_ct == ct and new_iv != iv
    assert "head" in where

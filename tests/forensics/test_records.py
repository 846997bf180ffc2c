"""Snapshot queries: diffs, copies of a value, soft-delete marks."""

from __future__ import annotations

import base64
import os

from byok_audit.forensics.records import (
    changed_columns,
    dump_lines,
    encodings,
    find_value,
    new_values,
    soft_delete_marks,
    table_changed,
    values_of_rows_with,
)
from tests.builders import DbTable, snapshot

COLUMNS = ["id", "user_id", "record", "last4", "updated_at", "deleted_at"]


def keys_table(*rows: list) -> DbTable:
    return DbTable(name="provider_keys", columns=COLUMNS, rows=[list(r) for r in rows])


def row(n: int, record: bytes, deleted_at: bytes | None = None) -> list:
    return [n, f"user{n}".encode(), record, b"1AAA", b"2026-01-01T00:00:0%d" % n, deleted_at]


def test_new_values_and_changed_columns_find_the_written_record() -> None:
    old, new = os.urandom(174), os.urandom(174)
    before = snapshot("before", 1, tables=[keys_table(row(1, old))])
    after = snapshot("after", 3, tables=[keys_table(row(1, old), row(2, new))])
    assert new_values(before, after, "provider_keys", "record") == [new]
    # last4 and the timestamp changed too, but are too short to hold a key
    assert changed_columns(before, after) == {("provider_keys", "record"): [new]}
    assert changed_columns(None, before) == {("provider_keys", "record"): [old]}


def test_table_changed_sees_a_rewrite_that_kept_the_record() -> None:
    record = os.urandom(174)
    before = snapshot("before", 1, tables=[keys_table(row(1, record))])
    same = snapshot("same", 3, tables=[keys_table(row(1, record))])
    touched = snapshot("touched", 5, tables=[keys_table([*row(1, record)[:4], b"later", None])])
    assert new_values(before, touched, "provider_keys", "record") == []
    assert not table_changed(before, same, "provider_keys")
    assert table_changed(before, touched, "provider_keys")


def test_find_value_sees_encoded_copies_in_other_tables() -> None:
    record = os.urandom(174)
    history = DbTable(
        name="key_history",
        columns=["id", "payload"],
        rows=[[1, b'{"old": "' + base64.b64encode(record) + b'"}'], [2, record.hex().encode()]],
    )
    snap = snapshot("s", 1, tables=[keys_table(row(1, record)), history])
    found = {(cell.describe(), form) for cell, form in find_value(snap, record)}
    assert found == {
        ("provider_keys.record row 1", "raw"),
        ("key_history.payload row 1", "base64"),
        ("key_history.payload row 2", "hex"),
    }
    assert find_value(snap, os.urandom(174)) == []


def test_dump_lines_find_blob_literals() -> None:
    record = os.urandom(100)
    dump = f"CREATE TABLE t(x);\nINSERT INTO t VALUES(X'{record.hex()}');\n"
    snap = snapshot("s", 1, logical_dump=dump)
    assert dump_lines(snap, record) == [(2, "hex")]


def test_encodings_are_unique_forms() -> None:
    forms = dict(encodings(b"\xff" * 3))
    assert forms["base64"] == b"////" and forms["base64url"] == b"____"
    assert [name for name, _ in encodings(bytes(3))] == ["raw", "hex", "base64"]


def test_soft_delete_marks() -> None:
    table = DbTable(
        name="provider_keys",
        columns=["id", "record", "deleted_at", "is_active", "revoked"],
        rows=[
            [1, b"r1", None, 1, 0],
            [2, b"r2", b"2026-01-01", 1, 0],
            [3, b"r3", None, 0, 0],
            [4, b"r4", None, 1, b"true"],
        ],
    )
    snap = snapshot("s", 1, tables=[table])
    marks = [(r, c) for r, c, _ in soft_delete_marks(snap, "provider_keys")]
    assert marks == [(1, "deleted_at"), (2, "is_active"), (3, "revoked")]
    assert soft_delete_marks(snap, "missing") == []


def test_values_of_rows_with_an_owner_identity() -> None:
    mine, other = os.urandom(100), os.urandom(100)
    table = DbTable(
        name="provider_keys",
        columns=["user_id", "record", "n"],
        rows=[[b"u-42", mine, 1], [b"u-7", other, 42], [b"u-9", None, 2]],
    )
    snap = snapshot("s", 1, tables=[table])
    assert values_of_rows_with(snap, "provider_keys", "record", {b"u-42"}) == [mine]
    assert values_of_rows_with(snap, "provider_keys", "record", {b"42"}) == [other]  # ints too
    assert values_of_rows_with(snap, "provider_keys", "record", {b"u-9"}) == []
    assert values_of_rows_with(snap, "provider_keys", "record", set()) == []

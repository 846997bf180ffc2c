"""Finding stored values in database snapshots: cells, diffs, copies and soft-delete marks.

Pure functions over :class:`DbSnapshot` (the logical side; raw file bytes are
:mod:`byok_audit.forensics.sqlite`'s business). Cell values arrive as bytes whether the column held
TEXT or BLOB, which is also how SQLite writes them to disk, so a value found here can be searched for
verbatim in the raw files.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from byok_audit.models.evidence import DbSnapshot, DbValue

#: A stored key needs at least this many bytes: 93 random characters of a 64-letter alphabet carry
#: 93 * 6 bits, about 70 bytes. Shorter new values (timestamps, last4, short digests) are not it.
MIN_RECORD_BYTES = 70

_SOFT_DELETE = re.compile(
    r"^(is_)?(deleted|revoked|archived|removed|disabled|trashed|purged)(_at|_on|_time)?$"
    r"|^(deletion|revocation)_(time|date)$",
    re.IGNORECASE,
)
_ACTIVE = re.compile(r"^(is_)?(active|enabled|valid)$", re.IGNORECASE)
_FALSE = {b"", b"0", b"false", b"f", b"no", b"n"}


@dataclass(frozen=True)
class Cell:
    table: str
    column: str
    row: int
    value: bytes

    def describe(self) -> str:
        return f"{self.table}.{self.column} row {self.row + 1}"


def cell_bytes(value: DbValue) -> bytes | None:
    """Text and blob cells as bytes; numbers and NULL as None (they never hold a record)."""
    return value if isinstance(value, bytes) else None


def cells(snapshot: DbSnapshot) -> Iterator[Cell]:
    for table in snapshot.tables:
        for row_index, row in enumerate(table.rows):
            for column, value in zip(table.columns, row, strict=False):
                data = cell_bytes(value)
                if data is not None:
                    yield Cell(table.name, column, row_index, data)


def column_values(snapshot: DbSnapshot, table: str, column: str) -> list[bytes]:
    found = snapshot.table(table)
    if found is None or column not in found.columns:
        return []
    index = found.columns.index(column)
    return [v for row in found.rows if (v := cell_bytes(row[index])) is not None]


def new_values(
    before: DbSnapshot | None, after: DbSnapshot, table: str, column: str
) -> list[bytes]:
    """Values in ``table.column`` after that were not there before (a multiset difference)."""
    old = Counter(column_values(before, table, column)) if before is not None else Counter()
    fresh = Counter(column_values(after, table, column)) - old
    return list(fresh.elements())


def changed_columns(
    before: DbSnapshot | None, after: DbSnapshot, min_len: int = MIN_RECORD_BYTES
) -> dict[tuple[str, str], list[bytes]]:
    """Every column that gained values of at least ``min_len`` bytes between two snapshots."""
    changed = {}
    for table in after.tables:
        for column in table.columns:
            fresh = [v for v in new_values(before, after, table.name, column) if len(v) >= min_len]
            if fresh:
                changed[(table.name, column)] = fresh
    return changed


def table_changed(before: DbSnapshot | None, after: DbSnapshot, table: str) -> bool:
    """True when any row of ``table`` differs between the snapshots (a rewrite happened)."""

    def rows(snapshot: DbSnapshot | None) -> Counter[tuple[object, ...]]:
        found = snapshot.table(table) if snapshot is not None else None
        return Counter(tuple(row) for row in found.rows) if found else Counter()

    return rows(before) != rows(after)


def encodings(value: bytes) -> list[tuple[str, bytes]]:
    """The forms in which a stored value gets copied into other cells, dumps or JSON: verbatim,
    hex (a dump writes blobs as ``X'..'``) and base64 (both alphabets, unpadded)."""
    forms = [
        ("raw", value),
        ("hex", value.hex().encode()),
        ("HEX", value.hex().upper().encode()),
        ("base64", base64.b64encode(value).rstrip(b"=")),
        ("base64url", base64.urlsafe_b64encode(value).rstrip(b"=")),
    ]
    unique: dict[bytes, str] = {}
    for name, form in forms:
        unique.setdefault(form, name)
    return [(name, form) for form, name in unique.items()]


def find_value(snapshot: DbSnapshot, value: bytes) -> list[tuple[Cell, str]]:
    """Cells holding ``value`` whole or inside them, in any of :func:`encodings`."""
    found = []
    forms = encodings(value)
    for cell in cells(snapshot):
        form = next((name for name, needle in forms if needle in cell.value), None)
        if form is not None:
            found.append((cell, form))
    return found


def dump_lines(snapshot: DbSnapshot, value: bytes) -> list[tuple[int, str]]:
    """1-based lines of the logical dump holding ``value`` in any of :func:`encodings`."""
    forms = encodings(value)
    found = []
    for number, line in enumerate(snapshot.logical_dump.encode().splitlines(), start=1):
        form = next((name for name, needle in forms if needle in line), None)
        if form is not None:
            found.append((number, form))
    return found


def soft_delete_marks(snapshot: DbSnapshot, table: str) -> list[tuple[int, str, bytes]]:
    """Rows of ``table`` flagged as deleted: ``deleted_at``/``is_deleted``/``revoked``... set, or
    ``active``/``enabled`` false. Returns (row index, column, value) per mark."""
    found_table = snapshot.table(table)
    if found_table is None:
        return []
    marks = []
    for row_index, row in enumerate(found_table.rows):
        for column, value in zip(found_table.columns, row, strict=False):
            if value is None:
                continue
            if isinstance(value, bytes):
                shown, truthy = value, value.strip().lower() not in _FALSE
            else:
                shown, truthy = str(value).encode(), value != 0
            if (_SOFT_DELETE.match(column) and truthy) or (_ACTIVE.match(column) and not truthy):
                marks.append((row_index, column, shown))
    return marks


def values_of_rows_with(
    snapshot: DbSnapshot, table: str, column: str, identities: set[bytes]
) -> list[bytes]:
    """``column`` of the rows of ``table`` that hold one of ``identities`` in another column
    (a user's name or id): how a stored value is tied to its owner without a diff."""
    found = snapshot.table(table)
    if found is None or column not in found.columns or not identities:
        return []
    index = found.columns.index(column)
    values = []
    for row in found.rows:
        others = [v for i, v in enumerate(row) if i != index]
        owned = any(
            (v if isinstance(v, bytes) else str(v).encode()) in identities
            for v in others
            if v is not None
        )
        value = cell_bytes(row[index])
        if owned and value is not None:
            values.append(value)
    return values

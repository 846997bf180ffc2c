"""Find where the target stored a user's key, and craft the tampered or transplanted value.

The profile may name the table and column; otherwise the stored value is found by diffing the
database before and after the user's ``put_key``: the newest cell that did not exist before, in a row
that appeared or changed. Tampering flips one bit inside the decoded value (hex and base64 text are
decoded and re-encoded in the same alphabet) so the row still looks well-formed to the target.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Literal

from byok_audit.models.evidence import DbValue
from byok_audit.scenarios.database import Rows

#: Shorter values are ids, flags or last-4 displays, not a stored key.
MIN_STORED_LEN = 24


@dataclass(frozen=True)
class KeyCell:
    """A user's stored key: its table, the column that holds it, and that row's current cells."""

    table: str
    column: str
    columns: tuple[str, ...]
    row: tuple[DbValue, ...]

    @property
    def value(self) -> DbValue:
        return self.row[self.columns.index(self.column)]


def _length(value: DbValue) -> int:
    return len(value) if isinstance(value, bytes) else 0


def locate_new_key(
    before: Rows, after: Rows, table_hint: str | None = None, column_hint: str | None = None
) -> KeyCell | None:
    """The cell a ``put_key`` wrote: in a new or changed row, a value absent before, the longest wins."""
    best: KeyCell | None = None
    for table, (columns, rows) in sorted(after.items()):
        if table_hint is not None and table != table_hint:
            continue
        old_rows = {tuple(r) for r in before.get(table, ([], []))[1]}
        old_values = {v for r in before.get(table, ([], []))[1] for v in r}
        for row in rows:
            if tuple(row) in old_rows:
                continue
            for column, value in zip(columns, row, strict=True):
                if column_hint is not None and column != column_hint:
                    continue
                if value in old_values or _length(value) < MIN_STORED_LEN:
                    continue
                if best is None or _length(value) > _length(best.value):
                    best = KeyCell(table, column, tuple(columns), tuple(row))
    return best


def current_row(rows: Rows, cell: KeyCell) -> KeyCell | None:
    """The row as it is now, found by the stored value (which is unique per record)."""
    columns, table_rows = rows.get(cell.table, ([], []))
    if cell.column not in columns:
        return None
    index = columns.index(cell.column)
    for row in table_rows:
        if row[index] == cell.value:
            return KeyCell(cell.table, cell.column, tuple(columns), tuple(row))
    return None


_HEX = re.compile(rb"^[0-9a-fA-F]+$")
_TOKEN = re.compile(rb"[A-Za-z0-9+/_=-]{16,}")


Position = Literal["tail", "head"]

#: Where a head flip lands: inside a leading IV/nonce, or a header's key id or per-record random.
HEAD_OFFSET = 4


def _flip_bytes(data: bytes, position: Position = "tail") -> tuple[bytes, int]:
    """Flip the lowest bit of one byte: three quarters in for ``tail`` (ciphertext or tag, past any
    header), a few bytes in for ``head``."""
    offset = (len(data) * 3) // 4 if position == "tail" else min(HEAD_OFFSET, len(data) - 1)
    flipped = bytearray(data)
    flipped[offset] ^= 0x01
    return bytes(flipped), offset


def _flip_text_token(token: bytes, position: Position) -> bytes | None:
    if _HEX.match(token) and len(token) % 2 == 0:
        raw, _ = _flip_bytes(bytes.fromhex(token.decode()), position)
        out = raw.hex().encode()
        return out.upper() if token.isupper() else out
    urlsafe = b"-" in token or b"_" in token
    padded = token.endswith(b"=")
    try:
        stripped = token.rstrip(b"=")
        padding = b"=" * (-len(stripped) % 4)
        decoder = base64.urlsafe_b64decode if urlsafe else base64.b64decode
        raw = decoder(stripped + padding)
    except (binascii.Error, ValueError):
        return None
    flipped, _ = _flip_bytes(raw, position)
    encoder = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    out = encoder(flipped)
    return out if padded else out.rstrip(b"=")


def flip_one_bit(value: DbValue, position: Position = "tail") -> tuple[bytes, str]:
    """A copy of ``value`` with one bit flipped, and a description of where.

    Binary values flip directly. Text values flip inside a hex/base64 token (``iv:ct:tag``, JSON and
    prefixed formats keep their shape): the longest for ``tail``, the first for ``head`` (an IV field
    usually comes first); text with no such token flips a raw character bit.
    """
    if not isinstance(value, bytes) or not value:
        raise ValueError("stored key value is empty or not a byte/text value")
    try:
        value.decode()
    except UnicodeDecodeError:
        flipped, offset = _flip_bytes(value, position)
        return flipped, f"binary value, byte {offset}, bit 0 ({position})"
    tokens = list(_TOKEN.finditer(value))
    if position == "tail":
        tokens.sort(key=lambda m: len(m.group()), reverse=True)
    for match in tokens:
        replaced = _flip_text_token(match.group(), position)
        if replaced is not None and replaced != match.group():
            return (
                value[: match.start()] + replaced + value[match.end() :],
                f"encoded token at characters {match.start()}-{match.end()}, one decoded bit "
                f"({position})",
            )
    flipped, offset = _flip_bytes(value, position)
    return flipped, f"text value, character {offset}, bit 0 ({position})"


def transplant_values(source: KeyCell, victim: KeyCell, identity: set[bytes]) -> dict[str, DbValue]:
    """Cells to copy from ``source``'s row over ``victim``'s: the key material, not the owner.

    Everything that differs is copied (ciphertext, nonce, tag, key id, timestamps) except columns that
    identify the row or its owner: integer ids and cells holding the victim's user id or name.
    """
    values: dict[str, DbValue] = {}
    for column, mine, theirs in zip(source.columns, source.row, victim.row, strict=True):
        if mine == theirs or column.lower() in {"id", "rowid", "oid"}:
            continue
        if isinstance(theirs, bytes) and theirs in identity:
            continue
        if isinstance(theirs, int) and column.lower().endswith("id"):
            continue
        values[column] = mine
    return values

"""Where an old stored value still lives in a snapshot: cells, dump lines, raw file bytes.

Shared by ROT-03 (after a delete) and ROT-04 (after a replace).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from byok_audit.checks.base import EvidenceMissing
from byok_audit.checks.enc.stored import KeyColumn
from byok_audit.forensics.records import dump_lines, encodings, find_value
from byok_audit.forensics.sqlite import Location, SqliteFiles
from byok_audit.models.evidence import DbSnapshot
from byok_audit.models.finding import EvidenceRef

#: Bytes compared at each end of a long value: an overflow chain splits a record, so a copy whose
#: middle sits on another page still shows its first or last bytes.
PART_BYTES = 32


@dataclass
class Residue:
    logical: list[EvidenceRef] = field(default_factory=list)
    raw: list[EvidenceRef] = field(default_factory=list)
    raw_examined: str = ""
    raw_not_applicable: str | None = None


def logical_copies(
    snapshot: DbSnapshot, value: bytes, column: KeyColumn, what: str
) -> list[EvidenceRef]:
    """Cells (or, for a dump-only snapshot, dump lines) still holding ``value`` in any encoding."""
    refs = []
    for cell, form in find_value(snapshot, value):
        where = (
            "its row is still there" if cell.table == column.table else "another table keeps a copy"
        )
        refs.append(
            EvidenceRef(
                kind="db",
                ref=f"snapshot '{snapshot.label}' {cell.describe()}",
                detail=f"{what} ({form}): {where}",
            )
        )
    if not snapshot.tables:
        for line, form in dump_lines(snapshot, value):
            refs.append(
                EvidenceRef(
                    kind="db",
                    ref=f"snapshot '{snapshot.label}' logical dump line {line}",
                    detail=f"{what} ({form})",
                )
            )
    return refs


def raw_copies(snapshot: DbSnapshot, value: bytes, what: str) -> tuple[list[EvidenceRef], str]:
    """Every place in the raw files holding ``value`` (any encoding) or its first or last bytes,
    each located (live cell, freeblock, freelist page, WAL frame, journal record, ...)."""
    files = SqliteFiles({f.name: f.content for f in snapshot.raw_files})
    refs = []
    whole: set[tuple[str, int]] = set()
    for form, needle in encodings(value):
        for location in files.find(needle):
            whole.add((location.file, location.offset))
            refs.append(_ref(snapshot, location.describe(), f"{what} ({form}), {_state(location)}"))
    if len(value) > 2 * PART_BYTES:
        for part, needle, shift in (
            ("first", value[:PART_BYTES], 0),
            ("last", value[-PART_BYTES:], len(value) - PART_BYTES),
        ):
            for location in files.find(needle):
                if (location.file, location.offset - shift) in whole:
                    continue
                refs.append(
                    _ref(
                        snapshot,
                        location.describe(),
                        f"the {part} {PART_BYTES} bytes of {what}, {_state(location)}",
                    )
                )
    total = sum(len(f.content) for f in snapshot.raw_files)
    names = ", ".join(f.name for f in snapshot.raw_files)
    return refs, f"{len(snapshot.raw_files)} raw file(s) ({names}, {total} bytes)"


def _state(location: Location) -> str:
    return "live data" if location.live else "residue"


def _ref(snapshot: DbSnapshot, where: str, detail: str) -> EvidenceRef:
    return EvidenceRef(kind="db", ref=f"snapshot '{snapshot.label}' {where}", detail=detail)


def residue(snapshot: DbSnapshot, value: bytes, column: KeyColumn, what: str) -> Residue:
    """The logical and raw places that still hold ``value``. Raw files are NOT_APPLICABLE (with the
    snapshot's reason) when the engine gives none, e.g. PostgreSQL; an SQLite snapshot without raw
    files and without a reason is missing evidence."""
    found = Residue(logical=logical_copies(snapshot, value, column, what))
    if snapshot.raw_files:
        found.raw, found.raw_examined = raw_copies(snapshot, value, what)
    elif snapshot.raw_unavailable_reason:
        found.raw_not_applicable = snapshot.raw_unavailable_reason
    else:
        raise EvidenceMissing(
            f"snapshot '{snapshot.label}' ({snapshot.engine}) has no raw files and gives no reason"
        )
    return found

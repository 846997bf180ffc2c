"""ROT-03: a delete is a hard delete: row gone, no soft-delete flag, no copy, no bytes left behind."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import capped
from byok_audit.checks.enc.at_rest import not_examined
from byok_audit.checks.enc.stored import (
    held_key,
    is_own,
    key_column,
    previous_put,
    snapshot_after,
    snapshot_before,
    step_name,
    stored_value,
    usable,
)
from byok_audit.checks.rot.residue import residue
from byok_audit.forensics.records import soft_delete_marks
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Question, Severity, Threat


@check(
    id="ROT-03",
    title="Hard delete: row gone, no soft-delete flag, old ciphertext bytes gone from the raw files",
    severity=Severity.HIGH,
    threats=[Threat.T1],
    questions=[Question.Q4],
    remediation=(
        "DELETE the row in the request's transaction (no deleted_at flag, no history copy); on SQLite "
        "set PRAGMA secure_delete=ON on every connection and run wal_checkpoint(TRUNCATE) after it."
    ),
)
def hard_delete(bundle: EvidenceBundle) -> Verdict:
    """A deleted key that survives as a soft-deleted row, a history copy or bytes in free pages is
    still there for whoever steals the database (and a master-secret leak decrypts it). For each
    delete_key step (the user held a key), the stored value the user's last put wrote (the new value
    in the key column in the snapshot right after that put) is looked for in the first snapshot
    after the delete. Logical: no cell of any table may hold it (raw, hex or base64; another table
    means a history/audit copy), and no key-table row may newly carry a soft-delete mark
    (deleted_at, is_deleted, revoked, ... set, or active false). Raw: the SQLite files (db, -wal,
    -journal) must not hold it in any encoding, nor its first or last 32 bytes; each hit is located
    (live cell, freeblock, unallocated gap, freelist page, WAL frame n, journal record). A snapshot
    without raw files (PostgreSQL) makes the raw part NOT_APPLICABLE with its reason while the
    logical part is still judged.
    """
    column = key_column(bundle)
    deletes = [
        s
        for s in bundle.steps_of("delete_key")
        if s.outcome == "ok" and s.user and is_own(s) and held_key(bundle, s.user, s.index)
    ]
    if not deletes:
        raise EvidenceMissing("needs a successful delete_key step by a user who held a key")
    logical: list[EvidenceRef] = []
    raw: list[EvidenceRef] = []
    examined: list[str] = []
    not_applicable: list[tuple[str, str]] = []
    for delete in deletes:
        put = previous_put(bundle, str(delete.user), delete.index)
        if put is None:  # held_key found one, so a put exists; kept for the type checker
            raise EvidenceMissing(f"no put_key before {step_name(delete)}")
        old = stored_value(bundle, put, column)
        after = usable(snapshot_after(bundle, delete), f"right after {step_name(delete)}")
        what = f"the record {step_name(put)} wrote, deleted by {step_name(delete)}"
        found = residue(after, old, column, what)
        logical += found.logical
        raw += found.raw
        before = snapshot_before(bundle, delete)
        had = {(r, c) for r, c, _ in soft_delete_marks(before, column.table)} if before else set()
        for row, name, value in soft_delete_marks(after, column.table):
            if (row, name) not in had:
                logical.append(
                    EvidenceRef(
                        kind="db",
                        ref=f"snapshot '{after.label}' {column.table}.{name} row {row + 1}",
                        detail=f"soft-delete mark {value.decode(errors='replace')!r} after "
                        f"{step_name(delete)}: the row was flagged, not removed",
                    )
                )
        if found.raw_not_applicable:
            not_applicable.append((after.label, found.raw_not_applicable))
        else:
            examined.append(f"'{after.label}': {found.raw_examined}")
    summary = f"{len(deletes)} delete(s) checked in {column} ({column.how})"
    raw_part = (
        f"raw files examined: {'; '.join(examined)}" if examined else "raw files not examined"
    )
    if not_applicable:
        raw_part += f"; raw bytes NOT_APPLICABLE for {not_examined(not_applicable)}"
    if logical or raw:
        counts = f"{len(logical)} logical copy/flag(s), {len(raw)} raw hit(s)"
        return Verdict.failed(
            f"deleted records remain ({counts}): {summary}; {raw_part}", capped(logical + raw)
        )
    clean = "rows gone, no soft-delete mark, no copy in any table"
    if examined:
        clean += ", no byte of the deleted records in the raw files"
    return Verdict.passed(f"{summary}: {clean}; {raw_part}")

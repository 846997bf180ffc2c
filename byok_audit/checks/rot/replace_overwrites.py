"""ROT-04: a replace overwrites: the old ciphertext is gone, logically and from the raw files."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import capped
from byok_audit.checks.enc.at_rest import not_examined
from byok_audit.checks.enc.stored import (
    key_column,
    previous_put,
    replacements,
    snapshot_after,
    step_name,
    stored_value,
    usable,
)
from byok_audit.checks.rot.residue import residue
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Question, Severity, Threat


@check(
    id="ROT-04",
    title="Replace overwrites: the old ciphertext bytes are gone",
    severity=Severity.MEDIUM,
    threats=[Threat.T1],
    questions=[Question.Q4],
    remediation=(
        "Overwrite the record in place and keep no key history; on SQLite set PRAGMA "
        "secure_delete=ON on every connection and run wal_checkpoint(TRUNCATE) after writes."
    ),
)
def replace_overwrites(bundle: EvidenceBundle) -> Verdict:
    """A replaced key was often replaced because it leaked; its old record left in a history table
    or in free pages is one more copy for a database thief. For each replacing put_key (the user held
    a different key canary), the value the user's previous put wrote is looked for in the first
    snapshot after the replace, exactly as ROT-03 does after a delete: no cell of any table may hold
    it (raw, hex or base64), and the raw SQLite files (db, -wal, -journal) must not hold it nor its
    first or last 32 bytes, each hit located (live cell, freeblock, freelist page, WAL frame,
    journal record). Without raw files (PostgreSQL) the raw part is NOT_APPLICABLE with the reason.
    """
    column = key_column(bundle)
    found = replacements(bundle)
    if not found:
        raise EvidenceMissing(
            "needs a replace: a user puts a key, then puts a different key canary (both 2xx)"
        )
    refs: list[EvidenceRef] = []
    examined: list[str] = []
    not_applicable: list[tuple[str, str]] = []
    for replace in found:
        put = previous_put(bundle, replace.user, replace.step.index)
        if put is None:
            raise EvidenceMissing(f"no put_key before {step_name(replace.step)}")
        old = stored_value(bundle, put, column)
        after = usable(
            snapshot_after(bundle, replace.step), f"right after {step_name(replace.step)}"
        )
        what = f"the record {step_name(put)} wrote, replaced by {step_name(replace.step)}"
        left = residue(after, old, column, what)
        refs += left.logical + left.raw
        if left.raw_not_applicable:
            not_applicable.append((after.label, left.raw_not_applicable))
        else:
            examined.append(f"'{after.label}': {left.raw_examined}")
    summary = f"{len(found)} replace(s) checked in {column} ({column.how})"
    raw_part = (
        f"raw files examined: {'; '.join(examined)}" if examined else "raw files not examined"
    )
    if not_applicable:
        raw_part += f"; raw bytes NOT_APPLICABLE for {not_examined(not_applicable)}"
    if refs:
        return Verdict.failed(f"replaced records remain: {summary}; {raw_part}", capped(refs))
    clean = "no copy of a replaced record in any table"
    if examined:
        clean += " nor in the raw files"
    return Verdict.passed(f"{summary}: {clean}; {raw_part}")

"""Scanning every database snapshot for secrets: table cells, the logical dump and the raw files.

Shared by ENC-01/02/03 (keys) and ENC-08 (the master secret). Raw-file hits are located with
:mod:`byok_audit.forensics.sqlite` (live cell, freeblock, freelist page, WAL frame n, journal record).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from byok_audit.checks.base import EvidenceMissing
from byok_audit.checks.common import hit_detail, plural, size
from byok_audit.forensics.records import cells
from byok_audit.forensics.sqlite import SqliteFiles
from byok_audit.models.evidence import DbSnapshot, EvidenceBundle
from byok_audit.models.finding import EvidenceRef
from byok_audit.scan import Hit, Scanner

#: ``name!gzip@123``: the scanner found the hit inside a compressed blob starting at byte 123.
_EMBEDDED = re.compile(r"!.*@(\d+)$")

Keep = Callable[[Hit], bool]


def not_examined(skipped: list[tuple[str, str]]) -> str:
    """Snapshots whose raw bytes could not be examined, grouped by reason (one clause per reason)."""
    by_reason: dict[str, list[str]] = {}
    for label, reason in skipped:
        by_reason.setdefault(reason, []).append(label)
    return "; ".join(
        f"{plural(len(labels), 'snapshot')} ({', '.join(repr(label) for label in labels)}): {reason}"
        for reason, labels in by_reason.items()
    )


@dataclass
class AtRest:
    """What a scan of every snapshot found, and what it covered."""

    refs: list[EvidenceRef] = field(default_factory=list)
    snapshots: int = 0
    logical_bytes: int = 0
    raw_files: int = 0
    raw_bytes: int = 0
    raw_not_applicable: list[tuple[str, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def examined(self) -> str:
        text = (
            f"scanned {plural(self.snapshots, 'snapshot')} (logical {size(self.logical_bytes)}, "
            f"{plural(self.raw_files, 'raw file')} {size(self.raw_bytes)})"
        )
        if self.raw_not_applicable:
            text += "; raw bytes not examined for " + not_examined(self.raw_not_applicable)
        return text


def _logical(
    bundle: EvidenceBundle, snapshot: DbSnapshot, scan: Scanner, keep: Keep
) -> list[EvidenceRef]:
    """Cell hits (table, column, row); dump hits only for what no cell showed (dump-only snapshots,
    or tables the runner did not export)."""
    refs, seen = [], set()
    for cell in cells(snapshot):
        where = f"snapshot '{snapshot.label}' {cell.describe()}"
        for hit in scan.scan_bytes(cell.value, where):
            if keep(hit):
                seen.add((hit.canary_id, hit.form))
                refs.append(EvidenceRef(kind="db", ref=where, detail=hit_detail(bundle, hit)))
    source = f"snapshot '{snapshot.label}' logical dump"
    for hit in scan.scan_bytes(snapshot.logical_dump.encode(), source):
        if keep(hit) and (hit.canary_id, hit.form) not in seen:
            ref = f"{source} line {hit.line}"
            refs.append(EvidenceRef(kind="db", ref=ref, detail=hit_detail(bundle, hit)))
    return refs


def _raw(
    bundle: EvidenceBundle, snapshot: DbSnapshot, scan: Scanner, keep: Keep
) -> list[EvidenceRef]:
    files = SqliteFiles({f.name: f.content for f in snapshot.raw_files})
    refs = []
    for raw in snapshot.raw_files:
        for hit in scan.scan_bytes(raw.content, f"{snapshot.label}/{raw.name}"):
            if not keep(hit):
                continue
            embedded = _EMBEDDED.search(hit.source)
            offset = int(embedded.group(1)) if embedded else hit.offset
            location = files.locate(raw.name, min(offset, max(len(raw.content) - 1, 0)))
            state = "live data" if location.live else "residue"
            inside = " (inside a compressed blob there)" if embedded else ""
            refs.append(
                EvidenceRef(
                    kind="db",
                    ref=f"snapshot '{snapshot.label}' {location.describe()}",
                    detail=f"{state}{inside}: {hit_detail(bundle, hit)}",
                )
            )
    return refs


def scan_at_rest(bundle: EvidenceBundle, scan: Scanner, keep: Keep) -> AtRest:
    """Scan every snapshot with ``scan``, keeping the hits ``keep`` accepts.

    A snapshot that failed, or an SQLite snapshot without raw files and without a reason, makes the
    evidence incomplete: EvidenceMissing, unless something was found anyway (a leak is a leak).
    Snapshots whose engine gives no raw files (PostgreSQL) are judged on their logical side only.
    """
    if not bundle.db_snapshots:
        raise EvidenceMissing("no database snapshot in the bundle")
    found = AtRest()
    for snapshot in bundle.db_snapshots:
        if snapshot.error:
            found.failed.append(f"snapshot '{snapshot.label}' failed: {snapshot.error}")
            continue
        found.snapshots += 1
        found.logical_bytes += len(snapshot.logical_dump.encode()) + sum(
            len(c.value) for c in cells(snapshot)
        )
        found.refs += _logical(bundle, snapshot, scan, keep)
        if snapshot.raw_files:
            found.raw_files += len(snapshot.raw_files)
            found.raw_bytes += sum(len(f.content) for f in snapshot.raw_files)
            found.refs += _raw(bundle, snapshot, scan, keep)
        elif snapshot.raw_unavailable_reason:
            found.raw_not_applicable.append((snapshot.label, snapshot.raw_unavailable_reason))
        else:
            found.failed.append(
                f"snapshot '{snapshot.label}' ({snapshot.engine}) has no raw files and gives no reason"
            )
    if found.failed and not found.refs:
        raise EvidenceMissing("; ".join(found.failed))
    return found

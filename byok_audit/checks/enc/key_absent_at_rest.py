"""ENC-01: no key, in any encoding, anywhere in the database: logical dump and raw file bytes."""

from __future__ import annotations

from byok_audit.checks.base import Verdict, check
from byok_audit.checks.common import KEY_ROLES, capped, require_steps, scanner
from byok_audit.checks.enc.at_rest import scan_at_rest
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import Question, Severity, Threat


@check(
    id="ENC-01",
    title="No key (any encoding) in the database, including free pages, WAL and journal",
    severity=Severity.CRITICAL,
    threats=[Threat.T1],
    questions=[Question.Q1],
    remediation=(
        "Encrypt the key before it reaches the database (AEAD, per-user key) and never write it in "
        "clear to any table, cache table or migration; purge old plaintext with VACUUM."
    ),
)
def key_absent_at_rest(bundle: EvidenceBundle) -> Verdict:
    """A database breach must not hand over users' keys. Every snapshot is scanned for every key and
    OAuth-token canary, whole, in every encoding the scanner knows (raw, base64 at any alignment,
    hex, percent, JSON/Python escapes, UTF-16, inside compressed blobs): each table cell, the logical
    dump, and the raw SQLite files (main, -wal, -journal) byte for byte, free pages included. Raw
    hits are located (live cell, freeblock, unallocated gap, freelist page, overflow page, WAL frame
    n, journal record): plaintext that was "deleted" or later encrypted still fails. Snapshots
    without raw files by nature (PostgreSQL) are judged on their logical side and say so. A put_key
    must have run (else no key was handed over).
    """
    require_steps(bundle, "put_key")
    scan = scanner(bundle, KEY_ROLES, fragments=False, digests=False)
    found = scan_at_rest(bundle, scan, lambda hit: True)
    if found.refs:
        return Verdict.failed(
            f"a key is stored readable {len(found.refs)} time(s) ({found.examined()})",
            capped(found.refs),
        )
    return Verdict.passed(f"{found.examined()}: no key in any encoding")

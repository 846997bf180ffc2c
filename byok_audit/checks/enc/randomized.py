"""ENC-04: the same key stored twice, or by two users, gives different ciphertexts."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import capped
from byok_audit.checks.enc.stored import KeyColumn, key_column, key_puts, step_name, written
from byok_audit.forensics.layouts import Record, keystream_reuse, parse_record, repeated_nonces
from byok_audit.forensics.records import column_values
from byok_audit.models.evidence import EvidenceBundle, StepRecord
from byok_audit.models.finding import EvidenceRef, Question, Severity, Threat


def _repeated_puts(puts: list[StepRecord]) -> list[StepRecord]:
    """Puts of key canaries that were put more than once; EvidenceMissing unless one was put twice
    by the same user and once by another."""
    by_key: dict[str, list[StepRecord]] = {}
    for step in puts:
        by_key.setdefault(str(step.params.get("key")), []).append(step)
    groups = [steps for steps in by_key.values() if len(steps) >= 2]
    pairs = [pair for steps in groups for pair in combinations(steps, 2)]
    same_user = any(a.user == b.user for a, b in pairs)
    two_users = any(a.user != b.user for a, b in pairs)
    if not (same_user and two_users):
        raise EvidenceMissing(
            "needs one key canary put twice by the same user and once by another user, each put "
            f"followed by a snapshot (found: same user {same_user}, two users {two_users})"
        )
    return sorted((s for steps in groups for s in steps), key=lambda s: s.index)


def _db(column: KeyColumn, detail: str, where: str = "") -> EvidenceRef:
    return EvidenceRef(kind="db", ref=where or str(column), detail=detail)


def _decoded(value: bytes) -> bytes:
    record = parse_record(value)
    return record.header + record.sealed


@check(
    id="ENC-04",
    title="Randomized: the same key stored twice, or by two users, gives different ciphertexts",
    severity=Severity.HIGH,
    threats=[Threat.T1],
    questions=[Question.Q1],
    remediation=(
        "Encrypt every write with a fresh random 96-bit nonce (better: a per-record derived key), so "
        "equal keys never give equal ciphertexts and no nonce repeats under one key."
    ),
)
def randomized(bundle: EvidenceBundle) -> Verdict:
    """Deterministic encryption lets a database thief see which users share a key and confirm a
    guessed key by storing it; a nonce repeated under one key leaks P1 xor P2 and GCM's
    authentication key. Measured three ways:

    1. The same key canary put twice by one user and once by another must leave three different
       values in the key column (the value a put wrote is the one that appeared in the snapshot
       right after it). A repeat put that rewrote the row but kept the value is a FAIL; one that
       left the key table untouched is a WARN (the platform may have skipped the write).
    2. Every distinct value the key column ever held is parsed as a record (forensics.layouts) and
       grouped by (effective key: layout, key id, per-record KDF input; nonce): a group of two, or
       an all-zero nonce, is a FAIL. Copies and tampered twins (one bit apart) are not counted.
    3. For every two stored records of different key canaries, ``C1 xor C2 == P1 xor P2`` at some
       offset proves a reused keystream whatever the layout: a FAIL.
    """
    column = key_column(bundle)
    fails: list[EvidenceRef] = []
    warns: list[EvidenceRef] = []

    fresh: dict[int, bytes] = {}  # put step index -> the one value it added
    repeated = _repeated_puts(key_puts(bundle))
    for step in repeated:
        result = written(bundle, step, column)
        earlier_same_user = any(
            p.user == step.user and p.params.get("key") == step.params.get("key")
            for p in repeated
            if p.index < step.index
        )
        if len(result.values) == 1:
            fresh[step.index] = result.values[0]
        elif not result.values and earlier_same_user:
            where = f"snapshot '{result.after.label}' {column}"
            if result.rewrote_table:
                fails.append(
                    _db(
                        column,
                        f"{step_name(step)} rewrote the row but left the "
                        "stored value byte-identical",
                        where,
                    )
                )
            else:
                warns.append(_db(column, f"{step_name(step)} left the key table untouched", where))
        else:
            raise EvidenceMissing(
                f"{step_name(step)} added {len(result.values)} values to {column}; cannot tell "
                "which one it wrote (take a snapshot right before and after it)"
            )
    steps = {s.index: s for s in bundle.steps}
    for a, b in combinations(sorted(fresh), 2):
        if fresh[a] == fresh[b]:
            fails.append(
                _db(
                    column,
                    f"{step_name(steps[a])} and {step_name(steps[b])} stored byte-identical values",
                )
            )

    records: list[tuple[str, Record]] = []
    for snapshot in bundle.db_snapshots:
        if snapshot.error:
            continue
        for row, value in enumerate(column_values(snapshot, column.table, column.column), 1):
            records.append((f"snapshot '{snapshot.label}' {column} row {row}", parse_record(value)))
    for reuse in repeated_nonces(records):
        what = "an all-zero nonce" if not reuse.nonce.strip(b"\x00") else "one nonce"
        fails.append(
            _db(
                column,
                f"{len(reuse.labels)} record(s) share {what} under one key (layout "
                f"{reuse.effective_key[0]}): " + "; ".join(reuse.labels),
                reuse.labels[0],
            )
        )

    attributed: list[tuple[StepRecord, bytes]] = []
    for step in key_puts(bundle):
        try:
            result = written(bundle, step, column)
        except EvidenceMissing:
            continue  # best effort: this test only needs some pairs
        if len(result.values) == 1:
            attributed.append((step, result.values[0]))
    pairs = 0
    for (sa, va), (sb, vb) in combinations(attributed, 2):
        ka, kb = (
            bundle.canaries.maybe(str(sa.params.get("key"))),
            bundle.canaries.maybe(str(sb.params.get("key"))),
        )
        if ka is None or kb is None or ka.id == kb.id:
            continue
        pairs += 1
        offset = keystream_reuse(_decoded(va), ka.value.encode(), _decoded(vb), kb.value.encode())
        if offset is not None:
            fails.append(
                _db(
                    column,
                    f"the records of {step_name(sa)} and {step_name(sb)} XOR to the XOR of their "
                    f"keys at byte {offset}: one keystream (key and nonce) encrypted both",
                )
            )

    layouts = Counter(record.layout for _, record in records)
    shown = ", ".join(f"{n} {layout}" for layout, n in layouts.most_common())
    examined = (
        f"{len(repeated)} puts of a repeated key compared in {column} "
        f"({column.how}); {len(records)} stored records parsed ({shown}); {pairs} record pairs "
        "of different keys tested for keystream reuse"
    )
    if fails:
        return Verdict.failed(f"stored keys are not randomized: {examined}", capped(fails))
    if warns:
        return Verdict.warn(
            f"a repeat put left the key table untouched, so that write's randomization was not "
            f"observed: {examined}",
            warns,
        )
    return Verdict.passed(f"every put stored a different value, no nonce repeats: {examined}")

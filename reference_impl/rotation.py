"""Re-encrypt every stored record under the primary master key, safely while the server runs.

Each row's record and keyed fingerprint (crypto.KeyFingerprinter, keyed by the primary as well)
are rewritten with a compare-and-swap on (user, provider, master-key id, record), so a
concurrent PUT (which already writes under the primary) or DELETE always wins: rotation can
neither resurrect a deleted key nor overwrite a replaced one. Re-running resumes where a
previous run stopped, because the work list is simply "rows not under the primary".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reference_impl.crypto import KeyFingerprinter, RecordCipher, RecordContext, RecordError
from reference_impl.store import KeyStore, utc_now


@dataclass
class RotationResult:
    rewritten: int = 0
    lost_races: int = 0
    undecryptable: int = 0
    remaining: int = 0
    rows_by_master_key: dict[str, int] = field(default_factory=dict)


def rotate_records(
    keys: KeyStore,
    cipher: RecordCipher,
    *,
    batch_size: int = 100,
    progress: Callable[[str], None] = lambda _line: None,
) -> RotationResult:
    primary = cipher.primary_key_id
    # Fingerprints are keyed by the primary too, so each is recomputed with its record.
    fingerprinter = KeyFingerprinter(cipher.keyring)
    result = RotationResult()
    failed: set[tuple[str, str, bytes]] = set()
    idle_passes = 0
    pass_number = 0
    while idle_passes < 3:
        pass_number += 1
        rows = keys.rows_not_under(primary, batch_size + len(failed))
        todo = [row for row in rows if (row.user_id, row.provider, row.record) not in failed]
        if not todo:
            break
        rewritten_before = result.rewritten
        for row in todo:
            context = RecordContext(row.user_id, row.provider)
            try:
                plaintext = cipher.decrypt(row.record, context)
            except RecordError as failure:
                failed.add((row.user_id, row.provider, row.record))
                result.undecryptable += 1
                progress(
                    f"cannot re-encrypt the {row.provider} key of user {row.user_id} "
                    f"(master key {row.master_key_id:08x}): {type(failure).__name__}"
                )
                continue
            fresh = cipher.encrypt(plaintext, context)
            fingerprint = fingerprinter.fingerprint(plaintext, context)
            if keys.swap_record(row, fresh, primary, utc_now(), fingerprint):
                result.rewritten += 1
            else:
                result.lost_races += 1
        keys.purge_residue()
        idle_passes = idle_passes + 1 if result.rewritten == rewritten_before else 0
        progress(f"pass {pass_number}: {result.rewritten} row(s) re-encrypted so far")
    counts = keys.count_by_master_key()
    result.rows_by_master_key = {f"{key_id:08x}": count for key_id, count in counts.items()}
    result.remaining = sum(count for key_id, count in counts.items() if key_id != primary)
    return result

"""Master-key rotation: old rows keep working, every row moves, concurrent writes always win."""

from __future__ import annotations

import random
import threading
import time
import uuid
from pathlib import Path

import pytest

from reference_impl.crypto import (
    KeyFingerprinter,
    RecordCipher,
    RecordContext,
    UnknownMasterKeyError,
)
from reference_impl.keyring import generate_entry, parse_keyring
from reference_impl.rotation import rotate_records
from reference_impl.store import Database, SqlKeyStore, StoredKey, UserStore, open_database, utc_now


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "rotation.sqlite3")
    return request.getfixturevalue("postgres_dsn")


def _store(cipher: RecordCipher, keys: SqlKeyStore, user_id: str, plaintext: bytes) -> None:
    """What PUT does: seal under the primary, fingerprint under the primary."""
    context = RecordContext(user_id, "anthropic")
    record = cipher.encrypt(plaintext, context)
    fingerprint = KeyFingerprinter(cipher.keyring).fingerprint(plaintext, context)
    now = utc_now()
    keys.put(
        StoredKey(
            user_id,
            "anthropic",
            cipher.master_key_id(record),
            record,
            "xxAA",
            fingerprint,
            now,
            now,
        )
    )


def _seed(db: Database, cipher: RecordCipher, count: int) -> dict[str, bytes]:
    users, keys = UserStore(db), SqlKeyStore(db)
    plaintexts = {}
    for _ in range(count):
        user_id = users.add(f"u-{uuid.uuid4().hex[:12]}", uuid.uuid4().bytes * 2).user_id
        plaintexts[user_id] = f"plaintext-{uuid.uuid4().hex}".encode()
        _store(cipher, keys, user_id, plaintexts[user_id])
    return plaintexts


def test_rotation_moves_every_row_and_keeps_plaintexts(db_target: str) -> None:
    old, new = generate_entry(), generate_entry()
    db = open_database(db_target)
    db.init_schema()
    plaintexts = _seed(db, RecordCipher(parse_keyring(old)), 25)
    rotated = RecordCipher(parse_keyring(f"{new},{old}"))
    keys = SqlKeyStore(db)
    any_user = next(iter(plaintexts))
    residue_blob = keys.get(any_user, "anthropic").record
    assert (
        rotated.decrypt(residue_blob, RecordContext(any_user, "anthropic")) == plaintexts[any_user]
    )

    lines: list[str] = []
    result = rotate_records(keys, rotated, batch_size=7, progress=lines.append)
    assert (result.rewritten, result.remaining, result.undecryptable) == (25, 0, 0)
    assert result.rows_by_master_key == {new[:8]: 25}
    assert lines and all(line.startswith("pass ") for line in lines)

    retired = RecordCipher(parse_keyring(new))
    fingerprinter = KeyFingerprinter(parse_keyring(new))
    for user_id, plaintext in plaintexts.items():
        row = keys.get(user_id, "anthropic")
        context = RecordContext(user_id, "anthropic")
        assert retired.decrypt(row.record, context) == plaintext
        # the same key stored again now shows the same fingerprint as the rotated row
        assert row.fingerprint == fingerprinter.fingerprint(plaintext, context)
    with pytest.raises(UnknownMasterKeyError):
        retired.decrypt(residue_blob, RecordContext(any_user, "anthropic"))
    assert rotate_records(keys, rotated).rewritten == 0


def test_rotation_reports_rows_it_cannot_open(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "retired-too-early.sqlite3"))
    db.init_schema()
    old = generate_entry()
    _seed(db, RecordCipher(parse_keyring(old)), 3)
    result = rotate_records(SqlKeyStore(db), RecordCipher(parse_keyring(generate_entry())))
    assert (result.rewritten, result.undecryptable, result.remaining) == (0, 3, 3)


def test_concurrent_puts_and_deletes_are_never_lost_or_resurrected(db_target: str) -> None:
    old, new = generate_entry(), generate_entry()
    db = open_database(db_target)
    db.init_schema()
    count = 150 if db_target.startswith("postgresql") else 300
    plaintexts = _seed(db, RecordCipher(parse_keyring(old)), count)
    server_cipher = RecordCipher(parse_keyring(f"{new},{old}"))
    expected: dict[str, bytes | None] = dict(plaintexts)
    touched = random.Random(7).sample(sorted(plaintexts), k=count // 3)
    started = threading.Event()

    def mutate() -> None:
        keys = SqlKeyStore(open_database(db_target))
        started.wait()
        for index, user_id in enumerate(touched):
            if index % 2:
                keys.delete(user_id, "anthropic")
                expected[user_id] = None
            else:
                fresh = f"replaced-{uuid.uuid4().hex}".encode()
                _store(server_cipher, keys, user_id, fresh)
                expected[user_id] = fresh
            time.sleep(0.001)

    writer = threading.Thread(target=mutate)
    writer.start()
    started.set()
    rotate_records(SqlKeyStore(db), server_cipher, batch_size=10)
    writer.join()
    result = rotate_records(SqlKeyStore(db), server_cipher, batch_size=10)
    assert result.remaining == 0

    keys = SqlKeyStore(db)
    new_only = RecordCipher(parse_keyring(new))
    for user_id, plaintext in expected.items():
        row = keys.get(user_id, "anthropic")
        if plaintext is None:
            assert row is None, "a deleted key came back"
        else:
            assert row is not None
            assert new_only.decrypt(row.record, RecordContext(user_id, "anthropic")) == plaintext


class _WriteJustBeforeSwap(SqlKeyStore):
    """Forces the worst interleaving: the server writes between rotation's read and its swap."""

    def __init__(self, db: Database, cipher: RecordCipher, actions: dict[str, str]) -> None:
        super().__init__(db)
        self._cipher = cipher
        self.actions = actions
        self.replacements: dict[str, bytes] = {}

    def swap_record(
        self,
        old: StoredKey,
        record: bytes,
        master_key_id: int,
        updated_at: str,
        fingerprint: str | None = None,
    ) -> bool:
        action = self.actions.pop(old.user_id, None)
        if action == "delete":
            self.delete(old.user_id, "anthropic")
        elif action == "put":
            self.replacements[old.user_id] = f"replaced-{uuid.uuid4().hex}".encode()
            _store(self._cipher, self, old.user_id, self.replacements[old.user_id])
        return super().swap_record(old, record, master_key_id, updated_at, fingerprint)


def test_writes_between_read_and_swap_win(db_target: str) -> None:
    old, new = generate_entry(), generate_entry()
    db = open_database(db_target)
    db.init_schema()
    plaintexts = _seed(db, RecordCipher(parse_keyring(old)), 12)
    cipher = RecordCipher(parse_keyring(f"{new},{old}"))
    users = sorted(plaintexts)
    keys = _WriteJustBeforeSwap(
        db, cipher, {users[0]: "delete", users[1]: "put", users[2]: "delete"}
    )
    result = rotate_records(keys, cipher, batch_size=5)
    assert result.lost_races == 3
    assert (result.rewritten, result.remaining) == (9, 0)
    assert keys.get(users[0], "anthropic") is None
    assert keys.get(users[2], "anthropic") is None
    row = keys.get(users[1], "anthropic")
    assert (
        cipher.decrypt(row.record, RecordContext(users[1], "anthropic"))
        == keys.replacements[users[1]]
    )

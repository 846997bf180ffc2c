"""A small story builder for key-storage bundles: users put, replace and delete keys, the database is
snapshotted, prompts go upstream. Shared by the ENC and ROT check tests.

The "database" is one key table whose rows the story keeps in step with the puts and deletes; a test
overrides what a platform would do differently (a deterministic record, a soft-delete flag, ...).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from byok_audit.models.canary import Canary, CanaryTable
from byok_audit.models.evidence import DbFile, DbSnapshot, DbTable, EvidenceBundle, Exchange
from tests import builders as b

KEY_TABLE = "provider_keys"
COLUMNS = ["id", "user_id", "record", "last4", "updated_at", "deleted_at"]


def aead_record(plaintext_len: int = 108) -> bytes:
    """What a good platform stores: nonce, ciphertext and tag (random here, same shape)."""
    return os.urandom(12 + plaintext_len + 16)


class Story:
    def __init__(self) -> None:
        self.canaries = CanaryTable.fresh()
        self.steps: list[Any] = []
        self.snapshots: list[DbSnapshot] = []
        self.exchanges: list[Exchange] = []
        self.rows: dict[str, list[Any]] = {}
        self.extra_tables: list[DbTable] = []
        self._next_id = 1

    # -- steps -----------------------------------------------------------------------------------------

    def step(self, action: str, user: str | None = None, **fields: Any):
        record = b.step(action, index=len(self.steps), scenario="story", user=user, **fields)
        self.steps.append(record)
        return record

    def key(self, key_id: str, user: str) -> Canary:
        return self.canaries.key(key_id, user)

    def put(
        self,
        user: str,
        key_id: str,
        record: bytes | None = None,
        *,
        status: int = 200,
        touch: bool = True,
    ) -> Canary:
        """``record`` overrides what is stored; ``touch=False`` leaves the row as it was."""
        key = self.key(key_id, user)
        ok = status < 400
        self.step(
            "put_key",
            user,
            params={"key": key_id},
            outcome="ok" if ok else "refused",
            calls=[b.call("PUT", "http://127.0.0.1:9/api/v1/claude-key", status=status)],
        )
        if ok and touch:
            if user not in self.rows:
                self.rows[user] = [self._next_id, user.encode(), b"", b"", 0, None]
                self._next_id += 1
            self.rows[user][2] = record if record is not None else aead_record(len(key.value))
            self.rows[user][3] = key.value[-4:].encode()
            self.rows[user][4] = len(self.steps)
        return key

    def delete(self, user: str, *, status: int = 204, soft: bool = False):
        ok = status < 400
        step = self.step(
            "delete_key",
            user,
            outcome="ok" if ok else "refused",
            calls=[b.call("DELETE", "http://127.0.0.1:9/api/v1/claude-key", status=status)],
        )
        if ok and soft:
            self.rows[user][5] = b"2026-01-01T00:00:00"
        elif ok:
            self.rows.pop(user, None)
        return step

    def tamper(self, user: str, byte: int = 40, bit: int = 3):
        record = bytearray(self.rows[user][2])
        record[byte] ^= 1 << bit
        self.rows[user][2] = bytes(record)
        return self.step(
            "tamper",
            user,
            params={"user": user},
            data={"table": KEY_TABLE, "column": "record", "byte_offset": byte, "bit": bit},
        )

    def transplant(self, from_user: str, to_user: str):
        self.rows[to_user][2] = self.rows[from_user][2]
        return self.step(
            "transplant",
            params={"from_user": from_user, "to_user": to_user},
            data={"table": KEY_TABLE, "column": "record"},
        )

    def get(self, user: str, *, status: int = 200, body: bytes = b""):
        return self.step(
            "get_key",
            user,
            outcome="ok" if status < 400 else "refused",
            calls=[
                b.call(
                    "GET", "http://127.0.0.1:9/api/v1/claude-key", status=status, response_body=body
                )
            ],
        )

    def upstream(self, key: str | None, **overrides: Any) -> Exchange:
        headers = [("x-api-key", key)] if key is not None else []
        exchange = b.exchange(request_headers=headers, **overrides)
        self.exchanges.append(exchange)
        return exchange

    def prompt(self, user: str, *sent: Exchange, status: int | None = None, **fields: Any):
        status = status if status is not None else (200 if sent else 400)
        return self.step(
            "prompt",
            user,
            params={"model": "claude-sonnet-4-5", "prompt": "prompt", "expect": "ok"},
            outcome="ok" if status < 400 else "refused",
            calls=[b.call(status=status)],
            exchange_ids=[e.id for e in sent],
            **fields,
        )

    def idle(self, *sent: Exchange):
        return self.step("idle", params={"seconds": 5}, exchange_ids=[e.id for e in sent])

    def snap(
        self, label: str | None = None, *, raw: dict[str, bytes] | None = None, **overrides: Any
    ):
        step = self.step("snapshot", params={"label": label or f"s{len(self.steps)}"})
        table = DbTable(name=KEY_TABLE, columns=COLUMNS, rows=[list(r) for r in self.rows.values()])
        snapshot = b.snapshot(
            step.params["label"],
            step.index,
            tables=[table, *self.extra_tables],
            raw_files=[DbFile(name=n, content=c) for n, c in (raw or {}).items()],
            **overrides,
        )
        self.snapshots.append(snapshot)
        return snapshot

    def bundle(self, **target: Any) -> EvidenceBundle:
        return b.bundle(
            canaries=self.canaries,
            steps=self.steps,
            db_snapshots=self.snapshots,
            exchanges=self.exchanges,
            target=b.target(**target),
        )


def sqlite_snapshot(
    tmp_path: Path,
    label: str,
    statements: list[tuple[str, tuple]],
    *,
    secure_delete: int = 1,
    journal: str = "delete",
    step_index: int = 1,
) -> DbSnapshot:
    """A snapshot of a real SQLite database after ``statements``: its tables and its raw files."""
    where = Path(tempfile.mkdtemp(dir=tmp_path))  # a fresh directory per database
    db = where / "ref.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(f"PRAGMA secure_delete={secure_delete}")
    conn.execute(f"PRAGMA journal_mode={journal}")
    if journal == "wal":
        conn.execute("PRAGMA wal_autocheckpoint=0")
    for sql, args in statements:
        conn.execute(sql, args)
    tables = []
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        cursor = conn.execute(f'SELECT * FROM "{name}"')  # noqa: S608 - names from sqlite_master
        columns = [d[0] for d in cursor.description]
        tables.append(DbTable(name=name, columns=columns, rows=[list(r) for r in cursor]))
    dump = "\n".join(conn.iterdump())
    raw = [DbFile(name=p.name, content=p.read_bytes()) for p in sorted(where.glob("ref.db*"))]
    conn.close()
    return b.snapshot(label, step_index, tables=tables, logical_dump=dump, raw_files=raw)

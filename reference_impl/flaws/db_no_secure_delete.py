"""no-secure-delete: SQLite as most apps run it: one pooled connection kept open, the build's
default ``secure_delete=OFF``, and no checkpoint after writes.

Freed cells keep their bytes, and because the connection never closes, SQLite never folds and
removes the WAL: every earlier page image, deleted and replaced records included, stays in the
``-wal`` file (until 1000 pages trigger an automatic checkpoint, which only recycles it).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reference_impl.flaws.base import Flaw, FlawContext, FlawError, swap
from reference_impl.store import Cursor, SqliteDatabase, SqlKeyStore, UsageStore, UserStore

if TYPE_CHECKING:
    from reference_impl.app import Components


class _Tx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._conn.execute(sql, params)


class PooledSqlite(SqliteDatabase):
    """A pool of one connection with default pragmas; ``purge_residue`` does nothing."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA secure_delete=OFF")
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[_Tx]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield _Tx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def purge_residue(self) -> bool:
        return True

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def use_pooled_connection(components: Components, ctx: FlawContext) -> Components:
    if ctx.db.kind != "sqlite":
        raise FlawError("no-secure-delete swaps the SQLite backend; --db is not a SQLite file")
    db = PooledSqlite(Path(ctx.settings.db))
    return swap(
        components, database=db, keys=SqlKeyStore(db), users=UserStore(db), usage=UsageStore(db)
    )


FLAW = Flaw(
    name="no-secure-delete",
    component="database",
    summary="SQLite secure_delete OFF, one pooled connection, no checkpoint: old bytes stay in the files",
    apply=use_pooled_connection,
)

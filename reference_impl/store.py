"""Persistence: users, stored provider keys and monthly usage, on SQLite or PostgreSQL.

SQLite is the default and the one whose hard delete is promised at the byte level: every
connection sets `secure_delete=ON` explicitly (build defaults differ, research §3.2) and WAL
mode, and every key write or delete is followed by `wal_checkpoint(TRUNCATE)` so no earlier
page image survives in the -wal file. PostgreSQL gets the same schema and the same logical
behaviour; its dead tuples, free space and WAL keep old bytes until VACUUM FULL and segment
reuse, so physical erasure is not promised there (research §3.3, §3.4).

There is no soft-delete column, no history or audit table: a deleted key's row is gone.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg.conninfo import conninfo_to_dict

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_sha256 BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS provider_keys (
    user_id TEXT NOT NULL REFERENCES users(user_id),
    provider TEXT NOT NULL,
    master_key_id INTEGER NOT NULL,
    record BLOB NOT NULL,
    last4 TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, provider)
);
CREATE INDEX IF NOT EXISTS provider_keys_master_key_id ON provider_keys (master_key_id);
CREATE TABLE IF NOT EXISTS usage_monthly (
    user_id TEXT NOT NULL REFERENCES users(user_id),
    month TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    reserved INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, month)
);
"""
# Columns added since the first release, and how an older database gets them.
_ADDED_COLUMNS = {
    ("usage_monthly", "reserved"): (
        "ALTER TABLE usage_monthly ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0"
    ),
}

_POSTGRES_SCHEMA = _SQLITE_SCHEMA.replace("BLOB", "BYTEA").replace(
    "master_key_id INTEGER", "master_key_id BIGINT"
)

# Exactly what _SQLITE_SCHEMA creates. Anything else found at start (a deleted_at column, a
# history or config table, a trigger or rule) was put there by other code and may keep key
# material this server would then silently depend on or leave behind.
EXPECTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("user_id", "name", "token_sha256", "created_at"),
    "provider_keys": (
        "user_id",
        "provider",
        "master_key_id",
        "record",
        "last4",
        "fingerprint",
        "created_at",
        "updated_at",
    ),
    "usage_monthly": ("user_id", "month", "input_tokens", "output_tokens", "reserved"),
}


def _missing_added_columns(facts: SchemaFacts) -> list[str]:
    """The ALTER statements an older database of ours needs."""
    return [
        statement
        for (table, column), statement in _ADDED_COLUMNS.items()
        if table in facts.tables and column not in facts.tables[table]
    ]


_STORE_LOG = logging.getLogger("byok.store")
# A blocked retry reports on its 1st attempt and then once a minute (at the default 2 s).
_RETRY_REPORT_EVERY = 30


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class StoreError(RuntimeError):
    """The database cannot be used safely (e.g. secure_delete or WAL could not be enabled)."""


class SchemaMismatch(StoreError):
    """The database holds tables, columns, triggers or rules this server did not create."""


@dataclass(frozen=True)
class SchemaFacts:
    """What a database holds: table or view -> its columns, and every trigger and rule."""

    tables: dict[str, set[str]]
    triggers: list[str]
    rules: list[str] = field(default_factory=list)


def schema_problems(facts: SchemaFacts) -> list[str]:
    """Each difference from EXPECTED_COLUMNS, named; empty when the schema is exactly ours."""
    problems = []
    unknown_tables = sorted(set(facts.tables) - set(EXPECTED_COLUMNS))
    if unknown_tables:
        problems.append(f"unknown table(s) or view(s): {', '.join(unknown_tables)}")
    unknown_columns, missing_columns = [], []
    for table, expected in EXPECTED_COLUMNS.items():
        present = facts.tables.get(table, set())
        unknown_columns += [f"{table}.{column}" for column in sorted(present - set(expected))]
        missing_columns += [f"{table}.{column}" for column in expected if column not in present]
    if unknown_columns:
        problems.append(f"unknown column(s): {', '.join(unknown_columns)}")
    if missing_columns:
        problems.append(f"missing column(s): {', '.join(missing_columns)}")
    if facts.triggers:
        problems.append(f"trigger(s): {', '.join(sorted(facts.triggers))}")
    if facts.rules:
        problems.append(f"rule(s): {', '.join(sorted(facts.rules))}")
    return problems


def check_schema(facts: SchemaFacts, where: str) -> None:
    problems = schema_problems(facts)
    if problems:
        raise SchemaMismatch(
            f"{where} does not hold exactly the schema byok-ref creates: {'; '.join(problems)}. "
            "byok-ref refuses to run on it: such objects are how other code keeps deleted or "
            "replaced keys (a deleted_at flag, a history table, a copying trigger), and this "
            "server would bring them back or leave them behind. Point --db at a fresh database, "
            "or remove those objects once you have checked what they hold."
        )


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Sequence[Any] | None: ...

    def fetchall(self) -> list[Sequence[Any]]: ...


class Tx(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...


class Database(Protocol):
    """A backend: transactions with `?` placeholders, and the post-write purge step."""

    kind: str

    def init_schema(self, *, verify: bool = True) -> None: ...

    def transaction(self, *, write: bool = False) -> Any: ...

    def purge_residue(self) -> bool: ...

    def close(self) -> None: ...


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._conn.execute(sql, params)


class SqliteDatabase:
    """One short-lived connection per transaction, each with the pragmas set explicitly."""

    kind = "sqlite"

    def __init__(
        self, path: Path, *, busy_timeout_s: float = 10.0, purge_retry_s: float = 2.0
    ) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._purge_retry_s = purge_retry_s
        self._retry_lock = threading.Lock()
        self._retry_thread: threading.Thread | None = None
        self._failed_purges = 0
        self._closed = threading.Event()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None)
        try:
            conn.execute("PRAGMA secure_delete=ON")
            if conn.execute("PRAGMA secure_delete").fetchone()[0] != 1:
                raise StoreError("this SQLite build refuses PRAGMA secure_delete=ON")
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"SQLite could not switch {self.path} to WAL mode (got {mode})")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=FULL")
        except BaseException:
            conn.close()
            raise
        return conn

    def init_schema(self, *, verify: bool = True) -> None:
        """Create the tables if missing; then, unless told not to, refuse any other schema."""
        conn = self._connect()
        try:
            conn.executescript(_SQLITE_SCHEMA)
            for statement in _missing_added_columns(self._schema_facts(conn)):
                conn.execute(statement)
            if verify:
                check_schema(self._schema_facts(conn), f"the SQLite database {self.path}")
        finally:
            conn.close()

    @staticmethod
    def _schema_facts(conn: sqlite3.Connection) -> SchemaFacts:
        # Names starting with sqlite_ are SQLite's own (autoindexes, ANALYZE statistics); no
        # statement can create one.
        objects = conn.execute(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        ).fetchall()
        tables = {
            name: {row[0] for row in conn.execute("SELECT name FROM pragma_table_info(?)", (name,))}
            for kind, name, _table in objects
            if kind in ("table", "view")
        }
        triggers = [f"{name} on {table}" for kind, name, table in objects if kind == "trigger"]
        return SchemaFacts(tables, triggers)

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Tx]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield _SqliteTx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def purge_residue(self) -> bool:
        """Fold the WAL into the database and truncate it to 0 bytes; True when that succeeded.

        A reader holding an old snapshot can block the truncation; until a checkpoint succeeds
        the old page images stay in the -wal file and, not yet overwritten, in the main file.
        A warning line says so and a background thread retries every `purge_retry_s` seconds
        (one thread at most, stopped by `close`) until it succeeds, without waiting for the
        next key write.
        """
        if self._checkpoint():
            return True
        _STORE_LOG.warning(
            "wal checkpoint(TRUNCATE) stayed busy",
            extra={
                "byok_meta": {"event": "wal_purge_incomplete", "retry_every_s": self._purge_retry_s}
            },
        )
        with self._retry_lock:
            self._failed_purges += 1
            if self._closed.is_set() or self._retry_thread is not None:
                return False
            self._retry_thread = threading.Thread(
                target=self._retry_until_purged, name="byok-wal-purge-retry", daemon=True
            )
            self._retry_thread.start()
        return False

    def _checkpoint(self) -> bool:
        conn = self._connect()
        try:
            conn.execute("PRAGMA busy_timeout=200")
            for _ in range(10):
                busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if busy == 0:
                    return True
                time.sleep(0.05)
        finally:
            conn.close()
        return False

    def _retry_until_purged(self) -> None:
        attempts = 0
        while not self._closed.wait(self._purge_retry_s):
            attempts += 1
            with self._retry_lock:
                failures_before = self._failed_purges
            try:
                purged = self._checkpoint()
            except (sqlite3.Error, StoreError) as failure:
                purged = False
                error = type(failure).__name__
            else:
                error = None
            if purged:
                with self._retry_lock:
                    # A purge that failed meanwhile may have left newer residue: go round again.
                    if self._failed_purges == failures_before:
                        self._retry_thread = None
                        _STORE_LOG.info(
                            "wal purged by the background retry",
                            extra={
                                "byok_meta": {"event": "wal_purge_completed", "attempts": attempts}
                            },
                        )
                        return
            elif attempts % _RETRY_REPORT_EVERY == 1:
                _STORE_LOG.warning(
                    "wal checkpoint(TRUNCATE) still busy",
                    extra={
                        "byok_meta": {
                            "event": "wal_purge_retry_failed",
                            "attempts": attempts,
                            "error": error,
                        }
                    },
                )
        _STORE_LOG.warning(
            "shutting down with the wal not yet purged",
            extra={"byok_meta": {"event": "wal_purge_abandoned", "attempts": attempts}},
        )

    def close(self) -> None:
        """Stop the background purge retry (on shutdown); the next start's first write retries."""
        self._closed.set()
        with self._retry_lock:
            thread = self._retry_thread
        if thread is not None:
            thread.join(timeout=5)


class _PgTx:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._conn.execute(sql.replace("?", "%s"), tuple(params))  # type: ignore[arg-type]


class PostgresDatabase:
    """Same schema and statements; logical deletion only (see the module docstring)."""

    kind = "postgresql"

    def __init__(self, dsn: str, *, connect_timeout_s: int = 10) -> None:
        self._dsn = dsn
        # libpq waits forever for an unanswering server unless told otherwise; a timeout named
        # in the DSN or in PGCONNECT_TIMEOUT is left to win.
        try:
            options = conninfo_to_dict(dsn)
        except psycopg.ProgrammingError:
            raise StoreError(
                "the PostgreSQL DSN given with --db is malformed (it is not repeated here: it "
                "may hold a password); expected postgresql://USER@HOST:PORT/DBNAME"
            ) from None
        named = "connect_timeout" in options or "PGCONNECT_TIMEOUT" in os.environ
        self._connect_options: dict[str, Any] = (
            {} if named else {"connect_timeout": connect_timeout_s}
        )

    def _connect(self, *, autocommit: bool = False) -> psycopg.Connection[Any]:
        return psycopg.connect(self._dsn, autocommit=autocommit, **self._connect_options)

    def init_schema(self, *, verify: bool = True) -> None:
        """Create the tables if missing; then, unless told not to, refuse any other schema in
        the current schema (pg_catalog, so objects the role may not read are seen too)."""
        try:
            conn = self._connect(autocommit=True)
        except psycopg.OperationalError as failure:
            # libpq's reason names host, port and user, never the password.
            reason = " ".join(str(failure).split())
            raise StoreError(f"cannot connect to PostgreSQL: {reason}") from None
        with conn:
            for statement in filter(str.strip, _POSTGRES_SCHEMA.split(";")):
                conn.execute(statement)  # type: ignore[call-overload]
            for statement in _missing_added_columns(self._schema_facts(conn)):
                conn.execute(statement)  # type: ignore[call-overload]
            if verify:
                check_schema(
                    self._schema_facts(conn),
                    f"the PostgreSQL database {conn.info.dbname} (schema "
                    f"{conn.execute('SELECT current_schema()').fetchone()[0]})",  # type: ignore[index]
                )

    @staticmethod
    def _schema_facts(conn: psycopg.Connection[Any]) -> SchemaFacts:
        tables: dict[str, set[str]] = {}
        for table, column in conn.execute(
            "SELECT c.relname, a.attname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        ).fetchall():
            tables.setdefault(table, set()).update([column] if column else [])
        triggers = [
            f"{name} on {table}"
            for name, table in conn.execute(
                "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE NOT t.tgisinternal AND n.nspname = current_schema()"
            ).fetchall()
        ]
        rules = [
            f"{name} on {table}"
            for name, table in conn.execute(
                "SELECT rulename, tablename FROM pg_rules WHERE schemaname = current_schema()"
            ).fetchall()
        ]
        return SchemaFacts(tables, triggers, rules)

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Tx]:
        with self._connect() as conn, conn.transaction():
            yield _PgTx(conn)

    def purge_residue(self) -> bool:
        return True

    def close(self) -> None:
        return None


def open_database(target: str) -> Database:
    """`postgresql://…` selects PostgreSQL; anything else is a SQLite file path."""
    if target.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(target)
    return SqliteDatabase(Path(target))


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    created_at: str


@dataclass(frozen=True)
class StoredKey:
    """One row of provider_keys. `record` is the versioned ciphertext blob (crypto.py)."""

    user_id: str
    provider: str
    master_key_id: int
    record: bytes
    last4: str
    fingerprint: str
    created_at: str
    updated_at: str


class NameTaken(ValueError):
    pass


class UserStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, name: str, token_sha256: bytes) -> User:
        """The unique constraint decides, not a prior SELECT: two concurrent signups for one
        name on PostgreSQL both pass a check, and the loser must get NameTaken, not a crash."""
        user = User(user_id=uuid.uuid4().hex, name=name, created_at=utc_now())
        try:
            with self._db.transaction(write=True) as tx:
                tx.execute(
                    "INSERT INTO users (user_id, name, token_sha256, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (user.user_id, user.name, token_sha256, user.created_at),
                )
        except sqlite3.IntegrityError as failure:
            if "users.name" in str(failure):
                raise NameTaken(name) from None
            raise
        except psycopg.errors.UniqueViolation as failure:
            if failure.diag.constraint_name == "users_name_key":
                raise NameTaken(name) from None
            raise
        return user

    def by_token_digest(self, token_sha256: bytes) -> tuple[User, bytes] | None:
        """The user and the stored digest, for the caller's constant-time comparison."""
        with self._db.transaction() as tx:
            row = tx.execute(
                "SELECT user_id, name, created_at, token_sha256 FROM users WHERE token_sha256 = ?",
                (token_sha256,),
            ).fetchone()
        if row is None:
            return None
        return User(row[0], row[1], row[2]), bytes(row[3])


class KeyStore(Protocol):
    """The key repository seam (a flawed variant may soft-delete or cache here)."""

    def put(self, key: StoredKey) -> bool: ...

    def get(self, user_id: str, provider: str) -> StoredKey | None: ...

    def delete(self, user_id: str, provider: str) -> bool: ...

    def rows_not_under(self, master_key_id: int, limit: int) -> list[StoredKey]: ...

    def swap_record(
        self,
        old: StoredKey,
        record: bytes,
        master_key_id: int,
        updated_at: str,
        fingerprint: str | None = None,
    ) -> bool: ...

    def count_by_master_key(self) -> dict[int, int]: ...

    def purge_residue(self) -> bool: ...


def _stored_key(row: Sequence[Any]) -> StoredKey:
    return StoredKey(
        user_id=row[0],
        provider=row[1],
        master_key_id=int(row[2]),
        record=bytes(row[3]),
        last4=row[4],
        fingerprint=row[5],
        created_at=row[6],
        updated_at=row[7],
    )


class SqlKeyStore:
    """Hard delete, in-place replace, compare-and-swap for rotation; purge after every write."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, key: StoredKey) -> bool:
        """Store or replace; True when a previous key was replaced."""
        with self._db.transaction(write=True) as tx:
            existed = (
                tx.execute(
                    "SELECT 1 FROM provider_keys WHERE user_id = ? AND provider = ?",
                    (key.user_id, key.provider),
                ).fetchone()
                is not None
            )
            tx.execute(
                "INSERT INTO provider_keys (user_id, provider, master_key_id, record, last4, fingerprint, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (user_id, provider) DO UPDATE SET "
                "master_key_id = excluded.master_key_id, record = excluded.record, "
                "last4 = excluded.last4, fingerprint = excluded.fingerprint, "
                "created_at = excluded.created_at, updated_at = excluded.updated_at",
                (
                    key.user_id,
                    key.provider,
                    key.master_key_id,
                    key.record,
                    key.last4,
                    key.fingerprint,
                    key.created_at,
                    key.updated_at,
                ),
            )
        self._db.purge_residue()
        return existed

    def get(self, user_id: str, provider: str) -> StoredKey | None:
        with self._db.transaction() as tx:
            row = tx.execute(
                "SELECT user_id, provider, master_key_id, record, last4, fingerprint, created_at, updated_at "
                "FROM provider_keys WHERE user_id = ? AND provider = ?",
                (user_id, provider),
            ).fetchone()
        return None if row is None else _stored_key(row)

    def delete(self, user_id: str, provider: str) -> bool:
        with self._db.transaction(write=True) as tx:
            deleted = (
                tx.execute(
                    "DELETE FROM provider_keys WHERE user_id = ? AND provider = ?",
                    (user_id, provider),
                ).rowcount
                > 0
            )
        if deleted:
            self._db.purge_residue()
        return deleted

    def rows_not_under(self, master_key_id: int, limit: int) -> list[StoredKey]:
        with self._db.transaction() as tx:
            rows = tx.execute(
                "SELECT user_id, provider, master_key_id, record, last4, fingerprint, created_at, updated_at "
                "FROM provider_keys WHERE master_key_id <> ? "
                "ORDER BY user_id, provider LIMIT ?",
                (master_key_id, limit),
            ).fetchall()
        return [_stored_key(row) for row in rows]

    def swap_record(
        self,
        old: StoredKey,
        record: bytes,
        master_key_id: int,
        updated_at: str,
        fingerprint: str | None = None,
    ) -> bool:
        """Replace `old.record` (and its fingerprint, when given) only if the row still holds
        exactly that record (a concurrent PUT or DELETE wins); True when the row was rewritten."""
        with self._db.transaction(write=True) as tx:
            swapped = (
                tx.execute(
                    "UPDATE provider_keys SET record = ?, master_key_id = ?, updated_at = ?, "
                    "fingerprint = COALESCE(?, fingerprint) "
                    "WHERE user_id = ? AND provider = ? AND master_key_id = ? AND record = ?",
                    (
                        record,
                        master_key_id,
                        updated_at,
                        fingerprint,
                        old.user_id,
                        old.provider,
                        old.master_key_id,
                        old.record,
                    ),
                ).rowcount
                == 1
            )
        return swapped

    def purge_residue(self) -> bool:
        return self._db.purge_residue()

    def count_by_master_key(self) -> dict[int, int]:
        with self._db.transaction() as tx:
            rows = tx.execute(
                "SELECT master_key_id, COUNT(*) FROM provider_keys GROUP BY master_key_id"
            ).fetchall()
        return {int(row[0]): int(row[1]) for row in rows}


class CapReached(Exception):
    """Holding this request's tokens would take the user past the monthly cap."""

    def __init__(self, remaining: int) -> None:
        super().__init__(f"{remaining} tokens of the monthly cap remain")
        self.remaining = remaining


@dataclass(frozen=True)
class Reservation:
    """Tokens held against one user's cap for one request, in the month it started."""

    user_id: str
    month: str
    tokens: int


class UsageStore:
    """Monthly token totals per user, and the holds that make the optional cap race-free.

    A request first reserves its worst case (max_tokens plus an input bound) in one conditional
    UPDATE, so concurrent requests cannot all pass a check made against finished usage; once it
    ends, `settle` releases the hold and adds what was used, in one statement.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def current_month() -> str:
        return datetime.now(UTC).strftime("%Y-%m")

    def reserve(self, user_id: str, tokens: int, cap: int | None) -> Reservation:
        """Hold `tokens` if used + held + tokens stays within `cap`, else raise CapReached.
        Without a cap nothing needs holding."""
        month = self.current_month()
        if cap is None:
            return Reservation(user_id, month, 0)
        with self._db.transaction(write=True) as tx:
            tx.execute(
                "INSERT INTO usage_monthly (user_id, month, input_tokens, output_tokens, reserved) "
                "VALUES (?, ?, 0, 0, 0) ON CONFLICT (user_id, month) DO NOTHING",
                (user_id, month),
            )
            held = tx.execute(
                "UPDATE usage_monthly SET reserved = reserved + ? WHERE user_id = ? AND month = ? "
                "AND input_tokens + output_tokens + reserved + ? <= ?",
                (tokens, user_id, month, tokens, cap),
            ).rowcount
            if held != 1:
                row = tx.execute(
                    "SELECT input_tokens + output_tokens + reserved FROM usage_monthly "
                    "WHERE user_id = ? AND month = ?",
                    (user_id, month),
                ).fetchone()
                raise CapReached(max(0, cap - int(row[0]) if row else cap))
        return Reservation(user_id, month, tokens)

    def settle(self, reservation: Reservation, input_tokens: int, output_tokens: int) -> None:
        """Release the hold and count the tokens used, in the month the request started."""
        if not (reservation.tokens or input_tokens or output_tokens):
            return
        with self._db.transaction(write=True) as tx:
            tx.execute(
                "INSERT INTO usage_monthly (user_id, month, input_tokens, output_tokens, reserved) "
                "VALUES (?, ?, ?, ?, 0) ON CONFLICT (user_id, month) DO UPDATE SET "
                "input_tokens = usage_monthly.input_tokens + excluded.input_tokens, "
                "output_tokens = usage_monthly.output_tokens + excluded.output_tokens, "
                "reserved = usage_monthly.reserved - ?",
                (
                    reservation.user_id,
                    reservation.month,
                    input_tokens,
                    output_tokens,
                    reservation.tokens,
                ),
            )

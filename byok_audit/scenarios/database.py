"""Read and (for tamper/transplant) modify the target's database from outside, as a thief would.

SQLite: the raw files (main, ``-wal``, ``-journal``) are copied byte for byte first, then the logical dump
is taken from that copy, so the audit never checkpoints or otherwise disturbs the live database it is
measuring. PostgreSQL: a logical dump over the DSN (rows of every user table); raw-file forensics is not
available there and the snapshot says so.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Protocol

from byok_audit.errors import HarnessError
from byok_audit.models.evidence import DbFile, DbSnapshot, DbTable, DbValue

SQLITE_SIDECARS = ("", "-wal", "-journal", "-shm")
PG_RAW_REASON = (
    "raw-file forensics is not implemented for PostgreSQL: only the logical dump over the DSN "
    "was examined (dead tuples, free space and WAL segments were not)"
)

Rows = dict[str, tuple[list[str], list[list[DbValue]]]]


class Database(Protocol):
    """What scenarios need from a target database."""

    def snapshot(self, label: str, step_index: int) -> DbSnapshot: ...

    def tables(self) -> Rows: ...

    def update_row(
        self, table: str, match_column: str, match_value: DbValue, values: dict[str, DbValue]
    ) -> int: ...


def _cell(value: object) -> DbValue:
    if value is None or isinstance(value, int | float | bytes):
        return value
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    return str(value).encode()


class SqliteDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _copy_raw(self, into: Path) -> list[DbFile]:
        files = []
        for suffix in SQLITE_SIDECARS:
            source = Path(f"{self.path}{suffix}")
            if not source.exists():
                continue
            data = source.read_bytes()
            (into / source.name).write_bytes(data)
            if suffix != "-shm":  # the shared-memory index holds no row data
                files.append(DbFile(name=source.name, content=data))
        return files

    @staticmethod
    def _read_tables(conn: sqlite3.Connection) -> Rows:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
        ]
        out: Rows = {}
        for name in names:
            cursor = conn.execute(f'SELECT * FROM "{name}"')  # noqa: S608 - names come from sqlite_master
            columns = [d[0] for d in cursor.description]
            out[name] = (columns, [[_cell(v) for v in row] for row in cursor])
        return out

    def snapshot(self, label: str, step_index: int) -> DbSnapshot:
        taken = time.time()
        if not self.path.exists():
            return DbSnapshot(
                label=label,
                step_index=step_index,
                taken=taken,
                engine="sqlite",
                error=f"database file {self.path} does not exist",
            )
        with tempfile.TemporaryDirectory(prefix="byok-snap-") as tmp:
            raw = self._copy_raw(Path(tmp))
            copy = Path(tmp) / self.path.name
            try:
                with closing(sqlite3.connect(copy)) as conn:
                    dump = "\n".join(conn.iterdump())
                    rows = self._read_tables(conn)
            except sqlite3.Error as exc:
                return DbSnapshot(
                    label=label,
                    step_index=step_index,
                    taken=taken,
                    engine="sqlite",
                    raw_files=raw,
                    error=f"could not read the database copy: {exc}",
                )
        return DbSnapshot(
            label=label,
            step_index=step_index,
            taken=taken,
            engine="sqlite",
            logical_dump=dump,
            tables=[DbTable(name=n, columns=c, rows=r) for n, (c, r) in rows.items()],
            raw_files=raw,
        )

    def tables(self) -> Rows:
        with tempfile.TemporaryDirectory(prefix="byok-read-") as tmp:
            self._copy_raw(Path(tmp))
            with closing(sqlite3.connect(Path(tmp) / self.path.name)) as conn:
                return self._read_tables(conn)

    def update_row(
        self, table: str, match_column: str, match_value: DbValue, values: dict[str, DbValue]
    ) -> int:
        """Overwrite cells of the row holding ``match_value`` in the LIVE database (tamper, transplant).

        Snapshots carry text cells as bytes, so the row is matched as TEXT first and then as a BLOB,
        and every value is written back in the storage class the matched cell had.
        """
        assignments = ", ".join(f'"{column}" = ?' for column in values)
        statement = f'UPDATE "{table}" SET {assignments} WHERE "{match_column}" = ?'  # noqa: S608
        with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            for as_text in (True, False):
                params = [_storage_class(v, as_text) for v in values.values()]
                params.append(_storage_class(match_value, as_text))
                changed = conn.execute(statement, params).rowcount
                if changed:
                    return changed
        return 0


def _storage_class(value: DbValue, as_text: bool) -> object:
    if as_text and isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return value
    return value


class PostgresDatabase:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    @contextmanager
    def _connect(self) -> Iterator[object]:
        import psycopg

        try:
            with psycopg.connect(self.dsn, connect_timeout=10) as conn:
                yield conn
        except psycopg.Error as exc:
            raise HarnessError(f"cannot reach the PostgreSQL database: {exc}") from exc

    def tables(self) -> Rows:
        from psycopg import sql

        out: Rows = {}
        with self._connect() as conn:
            names = [
                r[0]
                for r in conn.execute(  # type: ignore[attr-defined]
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
                )
            ]
            for name in names:
                cursor = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(name)))  # type: ignore[attr-defined]
                columns = [d.name for d in cursor.description]
                out[name] = (columns, [[_cell(v) for v in row] for row in cursor])
        return out

    def snapshot(self, label: str, step_index: int) -> DbSnapshot:
        taken = time.time()
        try:
            rows = self.tables()
        except HarnessError as exc:
            return DbSnapshot(
                label=label, step_index=step_index, taken=taken, engine="postgresql", error=str(exc)
            )
        lines = []
        for name, (columns, table_rows) in rows.items():
            lines.append(f"-- table {name} ({', '.join(columns)})")
            lines.extend(
                f"INSERT INTO {name} VALUES ({_sql_literals(r)});"  # noqa: S608 - dump text, never executed
                for r in table_rows
            )
        return DbSnapshot(
            label=label,
            step_index=step_index,
            taken=taken,
            engine="postgresql",
            logical_dump="\n".join(lines),
            tables=[DbTable(name=n, columns=c, rows=r) for n, (c, r) in rows.items()],
            raw_unavailable_reason=PG_RAW_REASON,
        )

    def update_row(
        self, table: str, match_column: str, match_value: DbValue, values: dict[str, DbValue]
    ) -> int:
        from psycopg import sql

        statement = sql.SQL("UPDATE {t} SET {assignments} WHERE {m} = %s").format(
            t=sql.Identifier(table),
            assignments=sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values
            ),
            m=sql.Identifier(match_column),
        )
        with self._connect() as conn:
            return conn.execute(statement, [*values.values(), match_value]).rowcount  # type: ignore[attr-defined]


def _sql_literals(row: list[DbValue]) -> str:
    def literal(value: DbValue) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bytes):
            try:
                text = value.decode()
            except UnicodeDecodeError:
                return "'\\x" + value.hex() + "'"
            return "'" + text.replace("'", "''") + "'"
        return repr(value)

    return ", ".join(literal(v) for v in row)


def open_database(sqlite_path: Path | None, postgres_dsn: str | None) -> Database | None:
    if sqlite_path is not None:
        return SqliteDatabase(sqlite_path)
    if postgres_dsn is not None:
        return PostgresDatabase(postgres_dsn)
    return None

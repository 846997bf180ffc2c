"""soft-delete: DELETE sets ``deleted_at`` and keeps the row, ciphertext included.

Reads skip flagged rows, so the API looks right; the stored record stays in the database for whoever
steals it (and a later master-secret leak opens it).
"""

from __future__ import annotations

from reference_impl.flaws.base import Flaw, swap
from reference_impl.store import Database, SqlKeyStore, StoredKey, utc_now


def add_deleted_at(db: Database) -> None:
    """Add the ``deleted_at`` column unless an earlier start already did."""
    try:
        with db.transaction() as tx:
            tx.execute("SELECT deleted_at FROM provider_keys LIMIT 0")
    except Exception:  # the column is missing: sqlite3 and psycopg raise different errors
        with db.transaction(write=True) as tx:
            tx.execute("ALTER TABLE provider_keys ADD COLUMN deleted_at TEXT")


class SoftDeleteKeyStore(SqlKeyStore):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._soft_db = db
        add_deleted_at(db)

    def put(self, key: StoredKey) -> bool:
        """Store or replace; a flagged row counts as absent and is revived by the write."""
        existed = self.get(key.user_id, key.provider) is not None
        super().put(key)
        with self._soft_db.transaction(write=True) as tx:
            tx.execute(
                "UPDATE provider_keys SET deleted_at = NULL WHERE user_id = ? AND provider = ?",
                (key.user_id, key.provider),
            )
        return existed

    def get(self, user_id: str, provider: str) -> StoredKey | None:
        with self._soft_db.transaction() as tx:
            row = tx.execute(
                "SELECT user_id, provider, master_key_id, record, last4, fingerprint, "
                "created_at, updated_at FROM provider_keys "
                "WHERE user_id = ? AND provider = ? AND deleted_at IS NULL",
                (user_id, provider),
            ).fetchone()
        if row is None:
            return None
        return StoredKey(row[0], row[1], int(row[2]), bytes(row[3]), row[4], row[5], row[6], row[7])

    def delete(self, user_id: str, provider: str) -> bool:
        with self._soft_db.transaction(write=True) as tx:
            return (
                tx.execute(
                    "UPDATE provider_keys SET deleted_at = ? "
                    "WHERE user_id = ? AND provider = ? AND deleted_at IS NULL",
                    (utc_now(), user_id, provider),
                ).rowcount
                > 0
            )


FLAW = Flaw(
    name="soft-delete",
    component="key store",
    summary="DELETE only sets deleted_at: the row and its ciphertext stay",
    apply=lambda c, ctx: swap(c, keys=SoftDeleteKeyStore(ctx.db)),
)

"""audit-log-copy: every replace and delete first copies the old row into a history table
(Langfuse's ``audit_logs.before`` keeps the whole LLM-key row, ciphertext included).
"""

from __future__ import annotations

from reference_impl.flaws.base import Flaw, swap
from reference_impl.store import Database, SqlKeyStore, StoredKey, utc_now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS provider_keys_history (
    user_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    action TEXT NOT NULL,
    record BLOB NOT NULL,
    last4 TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    changed_at TEXT NOT NULL
)
"""


class HistoryKeyStore(SqlKeyStore):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._history_db = db
        with db.transaction(write=True) as tx:
            tx.execute(_SCHEMA if db.kind == "sqlite" else _SCHEMA.replace("BLOB", "BYTEA"))

    def _archive(self, user_id: str, provider: str, action: str) -> None:
        with self._history_db.transaction(write=True) as tx:
            tx.execute(
                "INSERT INTO provider_keys_history "
                "(user_id, provider, action, record, last4, fingerprint, changed_at) "
                "SELECT user_id, provider, ?, record, last4, fingerprint, ? FROM provider_keys "
                "WHERE user_id = ? AND provider = ?",
                (action, utc_now(), user_id, provider),
            )

    def put(self, key: StoredKey) -> bool:
        self._archive(key.user_id, key.provider, "replaced")
        return super().put(key)

    def delete(self, user_id: str, provider: str) -> bool:
        self._archive(user_id, provider, "deleted")
        return super().delete(user_id, provider)


FLAW = Flaw(
    name="audit-log-copy",
    component="key store",
    summary="copies the old row (ciphertext included) into provider_keys_history on replace/delete",
    apply=lambda c, ctx: swap(c, keys=HistoryKeyStore(ctx.db)),
)

"""cross-user-idor: a user without a key of their own borrows another user's key.

Meant as a "workspace default key" for teammates, it has no membership check: it falls back to the
most recently stored key of any user. Records are bound to their owner, so the fallback re-seals the
borrowed key for the caller: per-user encryption does not stop an authorization bug in the app.
"""

from __future__ import annotations

from reference_impl.crypto import KeyCipher, RecordContext
from reference_impl.flaws.base import Flaw, swap
from reference_impl.store import Database, SqlKeyStore, StoredKey


class WorkspaceFallbackKeyStore(SqlKeyStore):
    def __init__(self, db: Database, cipher: KeyCipher) -> None:
        super().__init__(db)
        self._fallback_db = db
        self._cipher = cipher

    def get(self, user_id: str, provider: str) -> StoredKey | None:
        own = super().get(user_id, provider)
        if own is not None:
            return own
        with self._fallback_db.transaction() as tx:
            row = tx.execute(
                "SELECT user_id FROM provider_keys WHERE provider = ? AND user_id <> ? "
                "ORDER BY updated_at DESC LIMIT 1",
                (provider, user_id),
            ).fetchone()
        borrowed = None if row is None else super().get(row[0], provider)
        if borrowed is None:
            return None
        plaintext = self._cipher.decrypt(borrowed.record, RecordContext(row[0], provider))
        record = self._cipher.encrypt(plaintext, RecordContext(user_id, provider))
        return StoredKey(
            user_id=user_id,
            provider=provider,
            master_key_id=self._cipher.master_key_id(record),
            record=record,
            last4=borrowed.last4,
            fingerprint=borrowed.fingerprint,
            created_at=borrowed.created_at,
            updated_at=borrowed.updated_at,
        )


FLAW = Flaw(
    name="cross-user-idor",
    component="key store",
    summary="a user with no key silently uses the most recently stored key of another user",
    apply=lambda c, ctx: swap(c, keys=WorkspaceFallbackKeyStore(ctx.db, c.cipher)),
)

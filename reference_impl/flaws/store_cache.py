"""stale-key-cache: stored keys are cached for a minute and writes do not invalidate the cache
(Dify caches decrypted provider credentials in Redis for 24 hours).

After a replace the old key keeps being used, after a delete the key keeps working, and the GET
endpoint shows the cached row, until the entry expires or the process restarts.
"""

from __future__ import annotations

import threading
import time

from reference_impl.flaws.base import Flaw, swap
from reference_impl.store import KeyStore, StoredKey

TTL_SECONDS = 60.0


class CachedKeyStore:
    """Read-through cache in front of the clean store; put and delete forget to evict."""

    def __init__(self, inner: KeyStore, ttl_s: float = TTL_SECONDS) -> None:
        self._inner = inner
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, StoredKey]] = {}

    def get(self, user_id: str, provider: str) -> StoredKey | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get((user_id, provider))
        if hit is not None and hit[0] > now:
            return hit[1]
        stored = self._inner.get(user_id, provider)
        if stored is not None:
            with self._lock:
                self._cache[(user_id, provider)] = (now + self._ttl_s, stored)
        return stored

    def put(self, key: StoredKey) -> bool:
        return self._inner.put(key)

    def delete(self, user_id: str, provider: str) -> bool:
        return self._inner.delete(user_id, provider)

    def rows_not_under(self, master_key_id: int, limit: int) -> list[StoredKey]:
        return self._inner.rows_not_under(master_key_id, limit)

    def swap_record(
        self, old: StoredKey, record: bytes, master_key_id: int, updated_at: str
    ) -> bool:
        return self._inner.swap_record(old, record, master_key_id, updated_at)

    def count_by_master_key(self) -> dict[int, int]:
        return self._inner.count_by_master_key()

    def purge_residue(self) -> bool:
        return self._inner.purge_residue()


FLAW = Flaw(
    name="stale-key-cache",
    component="key store",
    summary="caches stored keys for 60 s and never evicts on replace or delete",
    apply=lambda c, ctx: swap(c, keys=CachedKeyStore(c.keys)),
)

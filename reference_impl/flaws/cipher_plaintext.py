"""plaintext-storage: the key is written to the database as is (Open WebUI, AnythingLLM, Onyx MIT)."""

from __future__ import annotations

from reference_impl.crypto import RecordContext
from reference_impl.flaws.base import Flaw, swap


class PlaintextCipher:
    """ "Encrypts" by returning the key: the record column holds the key itself."""

    def __init__(self, key_id: int) -> None:
        self._key_id = key_id

    def encrypt(self, plaintext: bytes, context: RecordContext) -> bytes:
        return plaintext

    def decrypt(self, record: bytes, context: RecordContext) -> bytes:
        return record

    def master_key_id(self, record: bytes) -> int:
        return self._key_id


FLAW = Flaw(
    name="plaintext-storage",
    component="cipher",
    summary="stores the key unencrypted in provider_keys.record",
    apply=lambda c, ctx: swap(c, cipher=PlaintextCipher(ctx.keyring.primary.key_id)),
)

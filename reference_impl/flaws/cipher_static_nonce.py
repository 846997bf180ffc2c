"""static-nonce: AES-256-GCM with a fixed nonce and no per-record randomness.

Per-user key and AAD as in the clean record, so only the nonce is wrong: the same key stored twice by
one user gives byte-identical records, every record carries the same nonce, and two records under one
user's key XOR to the XOR of their plaintexts (and leak GCM's authentication key).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from reference_impl.crypto import (
    KEY_BYTES,
    NONCE_BYTES,
    TAG_BYTES,
    RecordAuthenticationError,
    RecordContext,
    RecordFormatError,
    hkdf_sha256,
    length_prefixed,
)
from reference_impl.flaws.base import Flaw, swap
from reference_impl.keyring import MasterKey

#: "The IV from the config file": the same 96 bits for every encryption.
STATIC_NONCE = bytes.fromhex("5f2b0c9a7e31d4c6b8a10f27")
_LABEL = b"byok/static-nonce/aes-256-gcm"


class StaticNonceCipher:
    """``nonce(12) | ciphertext | tag(16)``, the nonce always :data:`STATIC_NONCE`."""

    def __init__(self, master: MasterKey) -> None:
        self._master = master

    def _key(self, context: RecordContext) -> bytes:
        info = length_prefixed(_LABEL, context.user_id.encode(), context.provider.encode())
        return hkdf_sha256(self._master.secret, salt=None, info=info, length=KEY_BYTES)

    @staticmethod
    def _aad(context: RecordContext) -> bytes:
        return length_prefixed(_LABEL, context.user_id.encode(), context.provider.encode())

    def encrypt(self, plaintext: bytes, context: RecordContext) -> bytes:
        sealed = AESGCM(self._key(context)).encrypt(STATIC_NONCE, plaintext, self._aad(context))
        return STATIC_NONCE + sealed

    def decrypt(self, record: bytes, context: RecordContext) -> bytes:
        if len(record) < NONCE_BYTES + TAG_BYTES:
            raise RecordFormatError("record is too short")
        try:
            return AESGCM(self._key(context)).decrypt(
                record[:NONCE_BYTES], record[NONCE_BYTES:], self._aad(context)
            )
        except InvalidTag:
            raise RecordAuthenticationError("authentication tag did not verify") from None

    def master_key_id(self, record: bytes) -> int:
        return self._master.key_id


FLAW = Flaw(
    name="static-nonce",
    component="cipher",
    summary="AES-GCM with one fixed nonce and no per-record randomness: equal keys, equal records",
    apply=lambda c, ctx: swap(c, cipher=StaticNonceCipher(ctx.keyring.primary)),
)

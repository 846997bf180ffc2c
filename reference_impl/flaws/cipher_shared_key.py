"""shared-key: AES-256-GCM with one global key, no per-user derivation and no AAD (LobeChat, Langfuse).

Random nonces and a real tag, so the records look fine and tampering is detected; but every record
opens under the same key in any row, so a record copied into another user's row decrypts for them.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from reference_impl.crypto import (
    NONCE_BYTES,
    TAG_BYTES,
    RecordAuthenticationError,
    RecordContext,
    RecordFormatError,
)
from reference_impl.flaws.base import Flaw, swap
from reference_impl.keyring import MasterKey


class SharedKeyCipher:
    """``nonce(12) | ciphertext | tag(16)`` under the master secret itself; the context is ignored."""

    def __init__(self, master: MasterKey) -> None:
        self._master = master
        self._aead = AESGCM(master.secret)

    def encrypt(self, plaintext: bytes, context: RecordContext) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, None)

    def decrypt(self, record: bytes, context: RecordContext) -> bytes:
        if len(record) < NONCE_BYTES + TAG_BYTES:
            raise RecordFormatError("record is too short")
        try:
            return self._aead.decrypt(record[:NONCE_BYTES], record[NONCE_BYTES:], None)
        except InvalidTag:
            raise RecordAuthenticationError("authentication tag did not verify") from None

    def master_key_id(self, record: bytes) -> int:
        return self._master.key_id


FLAW = Flaw(
    name="shared-key",
    component="cipher",
    summary="AES-GCM under one global key: no per-user derivation, no AAD binding the owner",
    apply=lambda c, ctx: swap(c, cipher=SharedKeyCipher(ctx.keyring.primary)),
)

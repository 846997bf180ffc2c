"""base64-storage: the key is base64-encoded and called "encrypted" (an encoding, not encryption)."""

from __future__ import annotations

import base64
import binascii

from reference_impl.crypto import RecordContext, RecordFormatError
from reference_impl.flaws.base import Flaw, swap


class Base64Cipher:
    """Anyone who reads the column reads the key: base64 has no key."""

    def __init__(self, key_id: int) -> None:
        self._key_id = key_id

    def encrypt(self, plaintext: bytes, context: RecordContext) -> bytes:
        return base64.b64encode(plaintext)

    def decrypt(self, record: bytes, context: RecordContext) -> bytes:
        try:
            return base64.b64decode(record, validate=True)
        except (binascii.Error, ValueError):
            raise RecordFormatError("stored value is not base64") from None

    def master_key_id(self, record: bytes) -> int:
        return self._key_id


FLAW = Flaw(
    name="base64-storage",
    component="cipher",
    summary="stores base64(key): an encoding anyone can undo",
    apply=lambda c, ctx: swap(c, cipher=Base64Cipher(ctx.keyring.primary.key_id)),
)

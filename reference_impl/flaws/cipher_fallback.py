"""silent-decrypt-fallback: a record that does not decrypt is used as a "legacy plaintext" key
(Onyx's ``decrypt_bytes_to_string`` falls back to the raw value).

The column is text because it held plaintext keys before encryption was added: new records are the
clean AES-GCM record in base64. Anything that fails to open (a flipped bit, a record moved to another
user's row) is taken for an old plaintext key and sent to the provider as is.
"""

from __future__ import annotations

import base64
import binascii
import logging

from reference_impl.crypto import RecordCipher, RecordContext, RecordError
from reference_impl.flaws.base import Flaw, swap

_log = logging.getLogger("byok.flaws.fallback")


class LegacyFallbackCipher:
    """``base64(clean record)``; decrypt failures return the stored text instead of raising."""

    def __init__(self, inner: RecordCipher) -> None:
        self._inner = inner

    def encrypt(self, plaintext: bytes, context: RecordContext) -> bytes:
        return base64.b64encode(self._inner.encrypt(plaintext, context))

    def decrypt(self, record: bytes, context: RecordContext) -> bytes:
        try:
            return self._inner.decrypt(base64.b64decode(record, validate=True), context)
        except (RecordError, binascii.Error, ValueError):
            _log.warning("stored key did not decrypt; using it as a legacy plaintext key")
            return record

    def master_key_id(self, record: bytes) -> int:
        try:
            return self._inner.master_key_id(base64.b64decode(record, validate=True))
        except (RecordError, binascii.Error, ValueError):
            return self._inner.primary_key_id


FLAW = Flaw(
    name="silent-decrypt-fallback",
    component="cipher",
    summary="a record that fails to decrypt is sent upstream as a legacy plaintext key",
    apply=lambda c, ctx: swap(c, cipher=LegacyFallbackCipher(RecordCipher(ctx.keyring))),
)

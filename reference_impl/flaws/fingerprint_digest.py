"""key-digest-column: an unsalted SHA-256 of the key beside the ciphertext (a "key hash" column).

Whoever holds the database can confirm a candidate key offline and see which users share a key.
"""

from __future__ import annotations

import hashlib

from reference_impl.crypto import RecordContext
from reference_impl.flaws.base import Flaw, swap


class DigestFingerprinter:
    def fingerprint(self, plaintext: bytes, context: RecordContext) -> str:
        return hashlib.sha256(plaintext).hexdigest()


FLAW = Flaw(
    name="key-digest-column",
    component="fingerprinter",
    summary="stores sha256(key) in provider_keys.fingerprint (unsalted, unkeyed)",
    apply=lambda c, ctx: swap(c, fingerprinter=DigestFingerprinter()),
)

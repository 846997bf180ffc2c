"""ctr-no-mac: AES-256-CTR under one global key with a random IV and no MAC (LibreChat's
``encryptV3``: ``v3:<iv hex>:<ciphertext hex>``).

Randomized, but malleable: flipping a ciphertext bit flips the same plaintext bit, so whoever can
write the row turns the stored key into a chosen other key, and the platform sends it upstream.
"""

from __future__ import annotations

import binascii
import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from reference_impl.crypto import RecordContext, RecordFormatError
from reference_impl.flaws.base import Flaw, swap
from reference_impl.keyring import MasterKey

IV_BYTES = 16
PREFIX = b"v3:"


class CtrCipher:
    """``v3:hex(iv):hex(AES-256-CTR(master secret, iv, key))``; the context is ignored."""

    def __init__(self, master: MasterKey) -> None:
        self._master = master

    def _cipher(self, iv: bytes) -> Cipher[modes.CTR]:
        return Cipher(algorithms.AES(self._master.secret), modes.CTR(iv))

    def encrypt(self, plaintext: bytes, context: RecordContext) -> bytes:
        iv = os.urandom(IV_BYTES)
        encryptor = self._cipher(iv).encryptor()
        sealed = encryptor.update(plaintext) + encryptor.finalize()
        return PREFIX + iv.hex().encode() + b":" + sealed.hex().encode()

    def decrypt(self, record: bytes, context: RecordContext) -> bytes:
        try:
            prefix, iv_hex, body_hex = record.split(b":")
            iv, body = bytes.fromhex(iv_hex.decode()), bytes.fromhex(body_hex.decode())
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise RecordFormatError("stored value is not v3:iv:ciphertext") from None
        if prefix + b":" != PREFIX or len(iv) != IV_BYTES:
            raise RecordFormatError("stored value is not a v3 record")
        decryptor = self._cipher(iv).decryptor()
        return decryptor.update(body) + decryptor.finalize()

    def master_key_id(self, record: bytes) -> int:
        return self._master.key_id


FLAW = Flaw(
    name="ctr-no-mac",
    component="cipher",
    summary="AES-CTR under one global key, random IV, no MAC: a flipped bit changes the key used",
    apply=lambda c, ctx: swap(c, cipher=CtrCipher(ctx.keyring.primary)),
)

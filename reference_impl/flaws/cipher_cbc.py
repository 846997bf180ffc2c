"""cbc-no-mac: AES-256-CBC under one global key with a fixed IV and no MAC (LibreChat's legacy
``encrypt()``: ``CREDS_KEY``/``CREDS_IV``, hex text).

Deterministic (equal keys, equal records), bound to nobody, and unauthenticated: a flipped bit
garbles one block and flips a bit of the next, and nothing notices until the garbage is used.
"""

from __future__ import annotations

import binascii

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from reference_impl.crypto import RecordContext, RecordFormatError
from reference_impl.flaws.base import Flaw, swap
from reference_impl.keyring import MasterKey

#: The fixed IV from the environment, as in LibreChat's ``CREDS_IV``.
FIXED_IV = bytes.fromhex("e2a5c0d6b4f1398a7c3e5d20f19b4a68")
BLOCK_BITS = 128


class CbcCipher:
    """``hex(AES-256-CBC(master secret, FIXED_IV, PKCS7(key)))``; the context is ignored."""

    def __init__(self, master: MasterKey) -> None:
        self._master = master
        self._cipher = Cipher(algorithms.AES(master.secret), modes.CBC(FIXED_IV))

    def encrypt(self, plaintext: bytes, context: RecordContext) -> bytes:
        padder = padding.PKCS7(BLOCK_BITS).padder()
        padded = padder.update(plaintext) + padder.finalize()
        encryptor = self._cipher.encryptor()
        return (encryptor.update(padded) + encryptor.finalize()).hex().encode()

    def decrypt(self, record: bytes, context: RecordContext) -> bytes:
        try:
            data = bytes.fromhex(record.decode("ascii"))
            decryptor = self._cipher.decryptor()
            padded = decryptor.update(data) + decryptor.finalize()
            unpadder = padding.PKCS7(BLOCK_BITS).unpadder()
            return unpadder.update(padded) + unpadder.finalize()
        except (UnicodeDecodeError, binascii.Error, ValueError):
            raise RecordFormatError("stored value is not hex CBC ciphertext") from None

    def master_key_id(self, record: bytes) -> int:
        return self._master.key_id


FLAW = Flaw(
    name="cbc-no-mac",
    component="cipher",
    summary="AES-CBC under one global key with a fixed IV and no MAC (hex text)",
    apply=lambda c, ctx: swap(c, cipher=CbcCipher(ctx.keyring.primary)),
)

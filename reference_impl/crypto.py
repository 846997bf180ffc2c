"""The stored-key record: AES-256-GCM under a per-record key derived with HKDF-SHA256.

Record layout (all integers big-endian), research §1.8:

    version(1) | alg(1) | master-key id(4) | per-record random(32) | nonce(12) | ciphertext+tag(n+16)

- The per-record key is HKDF-SHA256(IKM = master secret, salt = none,
  info = lp("byok/v1/aes-256-gcm") | lp(user id) | lp(provider) | lp(per-record random)).
  Identities go in `info`, never in `salt` (RFC 5869 §3.2, §3.4). A fresh 32-byte random per
  record means each derived key seals exactly one message, so GCM's 2^32 budget is unreachable.
- The AAD is the header (version, alg, master-key id, per-record random) followed by
  lp("byok/v1/record-aad") | lp(user id) | lp(provider): a record moved to another user's row,
  another key slot, or relabelled with another master id fails to open.
- `lp(x)` is a 4-byte length prefix followed by x, so no two field lists encode the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from reference_impl.keyring import Keyring, MasterKey

FORMAT_VERSION = 1
ALG_AES256GCM_HKDF_SHA256 = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
RECORD_RANDOM_BYTES = 32
_HEADER = struct.Struct(">BBI")
HEADER_BYTES = _HEADER.size + RECORD_RANDOM_BYTES
MIN_RECORD_BYTES = HEADER_BYTES + NONCE_BYTES + TAG_BYTES

KDF_LABEL = b"byok/v1/aes-256-gcm"
AAD_LABEL = b"byok/v1/record-aad"
FINGERPRINT_LABEL = b"byok/v1/fingerprint"


class RecordError(Exception):
    """A stored record cannot be opened. Subclasses say why; none carries key material."""


class RecordFormatError(RecordError):
    """The bytes are not a record this code understands (truncated, unknown version or algorithm)."""


class UnknownMasterKeyError(RecordError):
    """The record names a master-key id that is not (or no longer) in the keyring."""


class RecordAuthenticationError(RecordError):
    """The tag did not verify: tampered bytes, wrong owner or slot, or wrong master secret."""


@dataclass(frozen=True)
class RecordContext:
    """Where a record lives: its owner and its key slot. Bound into both the key and the AAD."""

    user_id: str
    provider: str


@dataclass(frozen=True)
class ParsedRecord:
    version: int
    algorithm: int
    master_key_id: int
    record_random: bytes
    nonce: bytes
    sealed: bytes

    @property
    def header(self) -> bytes:
        return _HEADER.pack(self.version, self.algorithm, self.master_key_id) + self.record_random


def length_prefixed(*parts: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def hkdf_sha256(ikm: bytes, *, salt: bytes | None, info: bytes, length: int) -> bytes:
    """RFC 5869 HKDF-SHA256 (extract then expand), the only KDF the record format uses."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def _check_gcm_parameters(key: bytes, nonce: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"AES-256-GCM needs a {KEY_BYTES}-byte key, got {len(key)} bytes")
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"this format uses {NONCE_BYTES}-byte nonces only, got {len(nonce)} bytes")


def aes256gcm_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM with a 96-bit nonce and a full 16-byte tag; returns ciphertext || tag."""
    _check_gcm_parameters(key, nonce)
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def aes256gcm_open(key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Inverse of `aes256gcm_seal`; a short or wrong tag raises RecordAuthenticationError."""
    _check_gcm_parameters(key, nonce)
    if len(sealed) < TAG_BYTES:
        raise RecordAuthenticationError("ciphertext is shorter than the 16-byte tag")
    try:
        return AESGCM(key).decrypt(nonce, sealed, aad)
    except InvalidTag:
        raise RecordAuthenticationError("authentication tag did not verify") from None


def parse_record(record: bytes) -> ParsedRecord:
    if len(record) < MIN_RECORD_BYTES:
        raise RecordFormatError(
            f"record is {len(record)} bytes; a version-1 record has at least {MIN_RECORD_BYTES}"
        )
    version, algorithm, master_key_id = _HEADER.unpack_from(record)
    if version != FORMAT_VERSION:
        raise RecordFormatError(f"unknown record format version {version}")
    if algorithm != ALG_AES256GCM_HKDF_SHA256:
        raise RecordFormatError(f"unknown algorithm id {algorithm}")
    random_end = _HEADER.size + RECORD_RANDOM_BYTES
    return ParsedRecord(
        version=version,
        algorithm=algorithm,
        master_key_id=master_key_id,
        record_random=record[_HEADER.size : random_end],
        nonce=record[random_end : random_end + NONCE_BYTES],
        sealed=record[random_end + NONCE_BYTES :],
    )


def record_key(master: MasterKey, context: RecordContext, record_random: bytes) -> bytes:
    info = length_prefixed(
        KDF_LABEL, context.user_id.encode(), context.provider.encode(), record_random
    )
    return hkdf_sha256(master.secret, salt=None, info=info, length=KEY_BYTES)


def record_aad(header: bytes, context: RecordContext) -> bytes:
    return header + length_prefixed(AAD_LABEL, context.user_id.encode(), context.provider.encode())


class KeyCipher(Protocol):
    """The seam the server encrypts through; a flawed variant swaps this one object."""

    def encrypt(self, plaintext: bytes, context: RecordContext) -> bytes: ...

    def decrypt(self, record: bytes, context: RecordContext) -> bytes: ...

    def master_key_id(self, record: bytes) -> int: ...


class RecordCipher:
    """Seals under the keyring's primary; opens under whichever id the record names."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    @property
    def primary_key_id(self) -> int:
        return self.keyring.primary.key_id

    def encrypt(self, plaintext: bytes, context: RecordContext) -> bytes:
        master = self.keyring.primary
        record_random = os.urandom(RECORD_RANDOM_BYTES)
        nonce = os.urandom(NONCE_BYTES)
        header = (
            _HEADER.pack(FORMAT_VERSION, ALG_AES256GCM_HKDF_SHA256, master.key_id) + record_random
        )
        key = record_key(master, context, record_random)
        return header + nonce + aes256gcm_seal(key, nonce, plaintext, record_aad(header, context))

    def decrypt(self, record: bytes, context: RecordContext) -> bytes:
        parsed = parse_record(record)
        master = self.keyring.get(parsed.master_key_id)
        if master is None:
            raise UnknownMasterKeyError(
                f"record is sealed under master key {parsed.master_key_id:08x}, "
                "which is not in the keyring"
            )
        key = record_key(master, context, parsed.record_random)
        return aes256gcm_open(key, parsed.nonce, parsed.sealed, record_aad(parsed.header, context))

    def master_key_id(self, record: bytes) -> int:
        return parse_record(record).master_key_id


class KeyFingerprinter:
    """A short keyed id for display: HMAC, so a database thief cannot confirm a guessed key.

    Keyed by the primary master secret, like new records: `rotate-master` recomputes each
    fingerprint in the same compare-and-swap that re-encrypts its record, so once a rotation
    has finished every stored fingerprint is under the primary and storing the same key again
    shows the same fingerprint. (A key derived from a fixed older secret would stay stable only
    while that secret lives, and retiring it is the point of rotating.)
    """

    def __init__(self, keyring: Keyring) -> None:
        self._key = hkdf_sha256(
            keyring.primary.secret,
            salt=None,
            info=length_prefixed(FINGERPRINT_LABEL),
            length=KEY_BYTES,
        )

    def fingerprint(self, plaintext: bytes, context: RecordContext) -> str:
        message = length_prefixed(context.user_id.encode(), context.provider.encode(), plaintext)
        return "fp_" + hmac.new(self._key, message, hashlib.sha256).hexdigest()[:16]

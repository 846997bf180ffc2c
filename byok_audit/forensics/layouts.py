"""Reading a stored value as an encryption record: its encoding, nonce, tag and key identity.

Platforms store ciphertext in a handful of shapes. This module recognises the common ones so that a
check can find repeated nonces (research crypto-forensics §2.3) and judge whether a record has room for
an AEAD's nonce and tag:

- binary, or its base64 / base64url / hex text;
- ``byok-v1``, the version-prefixed header of research §1.8
  (``0x01 | alg | master-key id(4) | per-record KDF input(32) | nonce(12) | ciphertext+tag``);
- Fernet tokens (``0x80 | time(8) | IV(16) | AES-CBC ciphertext | HMAC-SHA256(32)``);
- delimited text such as ``iv:ct:tag`` or ``v1$iv$ct`` (``:``, ``$`` or ``.``);
- JSON objects with ``iv``/``nonce``, ``ct``/``ciphertext``, ``tag`` and ``kid``/``version`` fields;
- otherwise the most common binary layout, ``nonce(12) | ciphertext | tag(16)``. Tink's
  ``0x01 | key id(4) | nonce | ...`` falls under it: its first 12 bytes still hold the key id and
  seven nonce bytes, so a fixed nonce repeats there and a random one does not.

Layout detection is a best effort: an unknown format with a constant header of 12 bytes or more would
look like a fixed nonce under the last rule. Checks say which layout they assumed.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NONCE_BYTES = 12
TAG_BYTES = 16

_HEX = re.compile(rb"\A(?:[0-9a-f]{2})+\Z|\A(?:[0-9A-F]{2})+\Z")
_B64 = re.compile(rb"\A[A-Za-z0-9+/]+={0,2}\Z")
_B64URL = re.compile(rb"\A[A-Za-z0-9_-]+={0,2}\Z")
_NONCE_FIELDS = ("iv", "nonce", "n")
_BODY_FIELDS = ("ct", "ciphertext", "data", "value", "c", "encrypted", "enc", "payload")
_TAG_FIELDS = ("tag", "mac", "t", "auth_tag", "authtag", "hmac")
_KEY_ID_FIELDS = ("kid", "key_id", "keyid", "key_version", "kv", "v", "version", "k")

#: (layout, key id, per-record KDF input): records differing in any of these may use different keys.
EffectiveKey = tuple[str, bytes | None, bytes | None]


@dataclass(frozen=True)
class Record:
    """One stored value read as an encryption record. Byte fields are decoded (not text)."""

    layout: str
    encoding: str
    body: bytes
    nonce: bytes | None = None
    tag: bytes | None = None
    key_id: bytes | None = None
    kdf_input: bytes | None = None
    header: bytes = b""

    @property
    def size(self) -> int:
        """Decoded bytes of the whole record: what the ciphertext costs beyond the plaintext."""
        parts = (self.header, self.nonce or b"", self.body, self.tag or b"")
        return sum(len(p) for p in parts)

    @property
    def sealed(self) -> bytes:
        """Nonce, ciphertext and tag together: the part that should look random."""
        return (self.nonce or b"") + self.body + (self.tag or b"")

    @property
    def effective_key(self) -> EffectiveKey:
        """What tells two records' encryption keys apart, as far as the record itself shows."""
        return self.layout, self.key_id, self.kdf_input


def _decode_part(text: bytes) -> tuple[bytes, str] | None:
    """Hex first (it is also valid base64), then base64 and base64url; None when neither fits."""
    text = text.strip()
    if len(text) >= 8 and _HEX.match(text):
        return bytes.fromhex(text.decode()), "hex"
    for pattern, decoder, name in (
        (_B64, base64.b64decode, "base64"),
        (_B64URL, base64.urlsafe_b64decode, "base64url"),
    ):
        if len(text) >= 8 and pattern.match(text):
            padded = text + b"=" * (-len(text) % 4)
            try:
                return decoder(padded), name
            except (binascii.Error, ValueError):
                continue
    return None


def _binary(data: bytes, encoding: str) -> Record:
    if len(data) >= 73 and data[0] == 0x80 and (len(data) - 57) % 16 == 0:
        return Record(
            "fernet", encoding, data[25:-32], nonce=data[9:25], tag=data[-32:], header=data[:9]
        )
    if len(data) >= 66 and data[0] == 1 and data[1] == 1:
        return Record(
            "byok-v1",
            encoding,
            data[50:],
            nonce=data[38:50],
            key_id=data[2:6],
            kdf_input=data[6:38],
            header=data[:38],
        )
    return Record("nonce|ct|tag", encoding, data[NONCE_BYTES:], nonce=data[:NONCE_BYTES])


def _field(obj: dict[str, object], names: Sequence[str]) -> object | None:
    lowered = {k.lower(): v for k, v in obj.items()}
    return next((lowered[n] for n in names if n in lowered), None)


def _json(obj: dict[str, object]) -> Record | None:
    def decoded(value: object) -> bytes | None:
        if not isinstance(value, str):
            return None
        part = _decode_part(value.encode())
        return part[0] if part else value.encode()

    body = decoded(_field(obj, _BODY_FIELDS))
    if body is None:
        return None
    key_id = _field(obj, _KEY_ID_FIELDS)
    return Record(
        "json",
        "json",
        body,
        nonce=decoded(_field(obj, _NONCE_FIELDS)),
        tag=decoded(_field(obj, _TAG_FIELDS)),
        key_id=None if key_id is None else str(key_id).encode(),
    )


def _delimited(text: bytes) -> Record | None:
    """``label:...:nonce:ciphertext:tag``: short undecodable labels first, then decodable parts."""
    for delimiter in (b":", b"$", b"."):
        parts = text.split(delimiter)
        labels: list[bytes] = []
        binary: list[bytes] = []
        for part in parts:
            decoded = _decode_part(part)
            if decoded is not None:
                binary.append(decoded[0])
            elif binary:  # text after the data: not this layout
                break
            else:
                labels.append(part)
        else:
            if len(binary) < 2:
                continue
            longest = max(range(len(binary)), key=lambda i: len(binary[i]))
            nonce = next((b for b in binary[:longest] if 8 <= len(b) <= 24), None)
            tag = next((b for b in binary[longest + 1 :] if len(b) in (16, 32)), None)
            return Record(
                "delimited",
                "delimited",
                binary[longest],
                nonce=nonce,
                tag=tag,
                key_id=delimiter.join(labels) or None,
            )
    return None


def parse_record(value: bytes) -> Record:
    """Read a stored value (cell bytes, text or blob) as an encryption record."""
    try:
        text = value.decode("utf-8").strip().encode()
    except UnicodeDecodeError:
        return _binary(value, "binary")
    if text.startswith(b"{"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and (record := _json(obj)) is not None:
            return record
    whole = _decode_part(text)
    if whole is not None:
        return _binary(whole[0], whole[1])
    delimited = _delimited(text)
    if delimited is not None:
        return delimited
    return Record("text", "text", text)


# -- judgements over records ----------------------------------------------------------------------------


def one_bit_apart(a: bytes, b: bytes) -> bool:
    """True for a record and its tampered copy (the tamper step flips exactly one bit)."""
    if len(a) != len(b):
        return False
    diff = [x ^ y for x, y in zip(a, b, strict=True) if x != y]
    return len(diff) == 1 and diff[0].bit_count() == 1


@dataclass(frozen=True)
class NonceReuse:
    """Records that share an effective key and a nonce: each pair leaks P1 xor P2."""

    nonce: bytes
    effective_key: EffectiveKey
    labels: tuple[str, ...]


def repeated_nonces(records: Iterable[tuple[str, Record]]) -> list[NonceReuse]:
    """Groups of distinct records with the same (effective key, nonce); all-zero nonces count alone.

    Identical records are one record seen twice (a snapshot taken twice, a transplanted copy); a record
    one bit away from another is a tampered copy, not a fresh encryption. Both are skipped.
    """
    kept: list[tuple[str, Record]] = []
    for label, record in records:
        if any(
            record.sealed == other.sealed or one_bit_apart(record.sealed, other.sealed)
            for _, other in kept
        ):
            continue
        kept.append((label, record))
    groups: dict[tuple[EffectiveKey, bytes], list[str]] = defaultdict(list)
    for label, record in kept:
        if record.nonce:
            groups[(record.effective_key, record.nonce)].append(label)
    found = []
    for (effective_key, nonce), labels in groups.items():
        if len(labels) >= 2 or not nonce.strip(b"\x00"):
            found.append(NonceReuse(nonce, effective_key, tuple(labels)))
    return found


def keystream_reuse(a: bytes, plain_a: bytes, b: bytes, plain_b: bytes) -> int | None:
    """The offset where ``a xor b == plain_a xor plain_b``: proof of a reused stream-cipher keystream.

    With CTR or GCM under one key and nonce, C1 xor C2 = P1 xor P2 (research §2.2). Both records must
    have the same length (the same layout) and the plaintexts differ but have the same length.
    """
    if len(a) != len(b) or len(plain_a) != len(plain_b) or plain_a == plain_b:
        return None
    want = bytes(x ^ y for x, y in zip(plain_a, plain_b, strict=True))
    mixed = bytes(x ^ y for x, y in zip(a, b, strict=True))
    offset = mixed.find(want)
    return None if offset < 0 else offset


def distinct_byte_floor(n: int, sigmas: float = 4.0) -> float:
    """The fewest distinct byte values n uniformly random bytes show, minus ``sigmas`` deviations."""
    m = 256.0
    q = 1 - 1 / m
    mean = m * (1 - q**n)
    variance = m * (m - 1) * (1 - 2 / m) ** n + m * q**n - m * m * q ** (2 * n)
    return mean - sigmas * math.sqrt(max(variance, 0.0))


def looks_random(data: bytes) -> bool | None:
    """Distinct-byte test: ciphertext uses about as many byte values as random bytes do.

    Text (a key, its base64, its hex) uses at most 64 values, far below random at these lengths.
    None when there are too few bytes (< 32) to tell.
    """
    if len(data) < 32:
        return None
    return len(set(data)) >= distinct_byte_floor(len(data))

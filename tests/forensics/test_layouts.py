"""Record layouts, nonce grouping and randomness tests, on records made with real crypto."""

from __future__ import annotations

import base64
import json
import os
import struct

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from byok_audit.forensics.layouts import (
    keystream_reuse,
    looks_random,
    one_bit_apart,
    parse_record,
    repeated_nonces,
)
from byok_audit.models.canary import mint_anthropic_key

KEY = AESGCM.generate_key(bit_length=256)


def gcm(plaintext: bytes, nonce: bytes | None = None) -> tuple[bytes, bytes]:
    nonce = nonce or os.urandom(12)
    return nonce, AESGCM(KEY).encrypt(nonce, plaintext, None)


def byok_v1(plaintext: bytes, nonce: bytes | None = None) -> bytes:
    header = struct.pack(">BBI", 1, 1, 7) + os.urandom(32)
    nonce, sealed = gcm(plaintext, nonce)
    return header + nonce + sealed


def test_binary_nonce_ct_tag_is_the_default_layout() -> None:
    plaintext = mint_anthropic_key().encode()
    nonce, sealed = gcm(plaintext)
    record = parse_record(nonce + sealed)
    assert (record.layout, record.encoding) == ("nonce|ct|tag", "binary")
    assert record.nonce == nonce and record.size == len(plaintext) + 28


def test_text_encodings_are_decoded() -> None:
    nonce, sealed = gcm(mint_anthropic_key().encode())
    blob = b"\x02" + nonce + sealed  # a leading byte that is no known header
    for text, encoding in (
        (base64.b64encode(blob), "base64"),
        (base64.urlsafe_b64encode(blob).rstrip(b"="), "base64url"),
        (blob.hex().encode(), "hex"),
        (blob.hex().upper().encode(), "hex"),
    ):
        record = parse_record(text)
        assert record.encoding == encoding
        assert record.nonce == blob[:12]


def test_version_prefixed_header_finds_key_id_kdf_input_and_nonce() -> None:
    nonce = os.urandom(12)
    data = byok_v1(b"secret", nonce)
    record = parse_record(data)
    assert record.layout == "byok-v1"
    assert record.key_id == struct.pack(">I", 7) and record.kdf_input == data[6:38]
    assert record.nonce == nonce and len(record.body) == 6 + 16


def test_fernet_tokens_expose_iv_and_hmac() -> None:
    token = Fernet(Fernet.generate_key()).encrypt(mint_anthropic_key().encode())
    record = parse_record(token)
    assert record.layout == "fernet" and record.encoding == "base64url"
    assert len(record.nonce or b"") == 16 and len(record.tag or b"") == 32


def test_delimited_and_json_layouts() -> None:
    nonce, sealed = gcm(b"k" * 108)
    ct, tag = sealed[:-16], sealed[-16:]
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    delimited = parse_record(f"v1:{nonce.hex()}:{b64(ct)}:{tag.hex()}".encode())
    assert (delimited.layout, delimited.key_id) == ("delimited", b"v1")
    assert (delimited.nonce, delimited.body, delimited.tag) == (nonce, ct, tag)

    blob = json.dumps({"iv": b64(nonce), "ciphertext": b64(ct), "tag": b64(tag), "kid": 3})
    record = parse_record(blob.encode())
    assert record.layout == "json" and record.key_id == b"3"
    assert (record.nonce, record.body, record.tag) == (nonce, ct, tag)


def test_plain_text_stays_text() -> None:
    record = parse_record(b"not encrypted at all, just words")
    assert record.layout == "text" and record.nonce is None


def test_static_nonce_is_reported_and_random_nonces_are_not() -> None:
    fixed = os.urandom(12)
    static = [(f"row{i}", parse_record(byok_v1(os.urandom(40), fixed))) for i in range(3)]
    # byok-v1 derives a key per record, so a fixed nonce under different KDF inputs is harmless
    assert repeated_nonces(static) == []

    plain = [(f"row{i}", parse_record(b"".join(gcm(os.urandom(40), fixed)))) for i in range(3)]
    [reuse] = repeated_nonces(plain)
    assert reuse.labels == ("row0", "row1", "row2") and reuse.nonce == fixed

    fresh = [(f"row{i}", parse_record(b"".join(gcm(os.urandom(40))))) for i in range(20)]
    assert repeated_nonces(fresh) == []


def test_all_zero_nonce_is_reported_even_once() -> None:
    [reuse] = repeated_nonces([("row", parse_record(b"".join(gcm(b"x" * 40, bytes(12)))))])
    assert reuse.labels == ("row",)


def test_copies_and_tampered_twins_are_not_nonce_reuse() -> None:
    data = b"".join(gcm(os.urandom(40)))
    flipped = bytearray(data)
    flipped[20] ^= 0x04
    assert one_bit_apart(data, bytes(flipped))
    records = [
        (name, parse_record(v)) for name, v in (("a", data), ("b", data), ("c", bytes(flipped)))
    ]
    assert repeated_nonces(records) == []


def test_keystream_reuse_is_proven_from_known_plaintexts() -> None:
    p1, p2 = mint_anthropic_key().encode(), mint_anthropic_key().encode()
    nonce = os.urandom(12)
    # a header that claims per-record keys (random KDF input) while the platform used one key
    r1, r2 = byok_v1(p1, nonce), byok_v1(p2, nonce)
    assert keystream_reuse(r1, p1, r2, p2) == 50
    assert keystream_reuse(byok_v1(p1), p1, byok_v1(p2), p2) is None  # fresh nonces

    other = AESGCM(AESGCM.generate_key(bit_length=256))
    c2 = r2[:50] + other.encrypt(nonce, p2, None)  # same nonce, another key
    assert keystream_reuse(r1, p1, c2, p2) is None
    assert keystream_reuse(r1, p1, r1, p1) is None  # equal plaintexts prove nothing


def test_looks_random_tells_ciphertext_from_text() -> None:
    key = mint_anthropic_key().encode()
    assert looks_random(os.urandom(124)) is True
    assert looks_random(key) is False
    assert looks_random(base64.b64encode(key)) is False
    assert looks_random(b"short") is None


def test_cbc_without_mac_has_no_room_for_a_tag() -> None:
    key = mint_anthropic_key().encode()
    iv = os.urandom(16)
    padded = key + bytes([4]) * 4  # PKCS#7 to 112 bytes
    encryptor = Cipher(algorithms.AES(KEY), modes.CBC(iv)).encryptor()
    record = parse_record(iv + encryptor.update(padded) + encryptor.finalize())
    assert record.size - len(key) == 20  # IV + padding: less than a 12-byte nonce + 16-byte tag

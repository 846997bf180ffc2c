"""ENC-07 on hand-made bundles, with records made by real ciphers."""

from __future__ import annotations

import base64
import os

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from byok_audit.checks.enc.aead_shape import aead_shape
from byok_audit.models.finding import Status
from tests.checks.enc.keystory import Story

AES_KEY = AESGCM.generate_key(bit_length=256)


def stored(make, **target) -> object:
    """Alice puts one key; the platform stores make(plaintext)."""
    story = Story()
    key = story.key("k1", "alice")
    story.put("alice", "k1", make(key.value.encode()))
    story.snap("after-put")
    return aead_shape.run(story.bundle(**target))


def gcm(plaintext: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(AES_KEY).encrypt(nonce, plaintext, None)


def cbc(plaintext: bytes) -> bytes:
    iv = os.urandom(16)
    pad = 16 - len(plaintext) % 16
    encryptor = Cipher(algorithms.AES(AES_KEY), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(plaintext + bytes([pad]) * pad) + encryptor.finalize()


def ctr(plaintext: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(AES_KEY), modes.CTR(bytes(16))).encryptor()
    return encryptor.update(plaintext) + encryptor.finalize()


def test_gcm_records_pass_in_any_encoding() -> None:
    for make in (gcm, lambda p: base64.b64encode(gcm(p)), lambda p: gcm(p).hex().encode()):
        result = stored(make)
        assert result.status == Status.PASS, result.summary
        assert "136 bytes decoded" in result.summary  # 108 + 12-byte nonce + 16-byte tag


def test_fernet_passes() -> None:
    fernet = Fernet(Fernet.generate_key())
    result = stored(fernet.encrypt)
    assert result.status == Status.PASS
    assert "fernet" in result.summary


def test_plaintext_and_base64_of_the_key_fail() -> None:
    assert "holds the key itself (raw)" in stored(lambda p: p).evidence[0].detail
    result = stored(base64.b64encode)
    assert result.status == Status.FAIL
    assert "holds the key itself (base64)" in result.evidence[0].detail


def test_same_length_ciphertext_fails() -> None:
    result = stored(ctr)
    assert result.status == Status.FAIL
    assert "no room for a nonce or a tag" in result.evidence[0].detail


def test_cbc_without_mac_fails_and_is_named() -> None:
    result = stored(cbc)
    assert result.status == Status.FAIL
    assert "CBC without a MAC" in result.evidence[0].detail
    assert "only 20 bytes beyond the key" in result.evidence[0].detail


def test_long_but_not_random_fails() -> None:
    result = stored(lambda p: os.urandom(12) + p[::-1] + p[:40][::-1])
    assert result.status == Status.FAIL
    assert "distinct byte values" in result.evidence[0].detail


def test_a_short_reference_warns() -> None:
    reference = b"vault://secret/data/users/alice/anthropic#" + os.urandom(8).hex().encode()
    result = stored(lambda p: reference, key_table="provider_keys", key_column="record")
    assert result.status == Status.WARN
    assert "too short to hold the key" in result.evidence[0].detail


def test_no_snapshot_after_any_put_is_an_error() -> None:
    story = Story()
    story.put("alice", "k1")
    result = aead_shape.run(story.bundle(key_table="provider_keys", key_column="record"))
    assert result.status == Status.ERROR

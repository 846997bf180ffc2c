"""The record format and its primitives, against published vectors and adversarial inputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_impl.crypto import (
    HEADER_BYTES,
    MIN_RECORD_BYTES,
    NONCE_BYTES,
    KeyFingerprinter,
    RecordAuthenticationError,
    RecordCipher,
    RecordContext,
    RecordError,
    RecordFormatError,
    UnknownMasterKeyError,
    aes256gcm_open,
    aes256gcm_seal,
    hkdf_sha256,
    length_prefixed,
    parse_record,
)
from reference_impl.keyring import generate_entry, parse_keyring

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
ALICE = RecordContext("user-alice", "anthropic")
BOB = RecordContext("user-bob", "anthropic")
PLAINTEXT = b"a provider key stands in here"


@pytest.fixture(scope="module")
def cipher() -> RecordCipher:
    return RecordCipher(parse_keyring(generate_entry()))


def _wycheproof(name: str) -> list[dict]:
    doc = json.loads((VECTORS / "wycheproof" / name).read_text())
    return [test for group in doc["testGroups"] for test in group["tests"]]


# RFC 5869 Appendix A, test cases 1-3 (SHA-256).
RFC5869 = [
    (
        "0b" * 22,
        "000102030405060708090a0b0c",
        "f0f1f2f3f4f5f6f7f8f9",
        42,
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    ),
    (
        bytes(range(0x50)).hex(),
        bytes(range(0x60, 0xB0)).hex(),
        bytes(range(0xB0, 0x100)).hex(),
        82,
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c6"
        "5e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
    ),
    (
        "0b" * 22,
        "",
        "",
        42,
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    ),
]


@pytest.mark.parametrize(
    ("ikm", "salt", "info", "length", "okm"), RFC5869, ids=["A.1", "A.2", "A.3"]
)
def test_hkdf_matches_rfc5869(ikm: str, salt: str, info: str, length: int, okm: str) -> None:
    derived = hkdf_sha256(
        bytes.fromhex(ikm),
        salt=bytes.fromhex(salt) or None,
        info=bytes.fromhex(info),
        length=length,
    )
    assert derived.hex() == okm


@pytest.mark.parametrize(
    "vector", _wycheproof("hkdf_sha256_test.json"), ids=lambda v: f"tc{v['tcId']}"
)
def test_hkdf_matches_wycheproof(vector: dict) -> None:
    def derive() -> bytes:
        return hkdf_sha256(
            bytes.fromhex(vector["ikm"]),
            salt=bytes.fromhex(vector["salt"]),
            info=bytes.fromhex(vector["info"]),
            length=vector["size"],
        )

    if vector["result"] == "valid":
        assert derive().hex() == vector["okm"]
    else:
        with pytest.raises(ValueError):
            derive()


@pytest.mark.parametrize("vector", _wycheproof("aes_gcm_test.json"), ids=lambda v: f"tc{v['tcId']}")
def test_aes_gcm_matches_wycheproof(vector: dict) -> None:
    key, iv, aad, msg, ct, tag = (
        bytes.fromhex(vector[f]) for f in ("key", "iv", "aad", "msg", "ct", "tag")
    )
    if vector["result"] == "valid":
        assert aes256gcm_seal(key, iv, msg, aad) == ct + tag
        assert aes256gcm_open(key, iv, ct + tag, aad) == msg
    else:
        with pytest.raises(RecordAuthenticationError):
            aes256gcm_open(key, iv, ct + tag, aad)


def test_wycheproof_files_hold_what_the_notice_says() -> None:
    gcm, hkdf = _wycheproof("aes_gcm_test.json"), _wycheproof("hkdf_sha256_test.json")
    assert (len(gcm), sum(v["result"] == "invalid" for v in gcm)) == (54, 27)
    assert (len(hkdf), sum(v["result"] == "invalid" for v in hkdf)) == (83, 3)


@pytest.mark.parametrize(("key_len", "nonce_len"), [(16, 12), (24, 12), (32, 8), (32, 16), (32, 0)])
def test_gcm_wrapper_refuses_other_key_and_nonce_sizes(key_len: int, nonce_len: int) -> None:
    with pytest.raises(ValueError):
        aes256gcm_seal(b"k" * key_len, b"n" * nonce_len, b"msg", b"")
    with pytest.raises(ValueError):
        aes256gcm_open(b"k" * key_len, b"n" * nonce_len, b"x" * 32, b"")


def test_truncated_tag_is_refused() -> None:
    key, nonce = bytes(32), bytes(12)
    sealed = aes256gcm_seal(key, nonce, b"message", b"")
    for cut in (1, 4, 15, 16, len(sealed)):
        with pytest.raises(RecordAuthenticationError):
            aes256gcm_open(key, nonce, sealed[:-cut], b"")


def test_length_prefix_keeps_field_boundaries() -> None:
    assert length_prefixed(b"ab", b"c") != length_prefixed(b"a", b"bc")
    assert length_prefixed(b"xy") == b"\x00\x00\x00\x02xy"


def test_record_round_trip_and_layout(cipher: RecordCipher) -> None:
    record = cipher.encrypt(PLAINTEXT, ALICE)
    assert len(record) == MIN_RECORD_BYTES + len(PLAINTEXT)
    parsed = parse_record(record)
    assert (parsed.version, parsed.algorithm) == (1, 1)
    assert parsed.master_key_id == cipher.primary_key_id
    assert record[2:6] == cipher.primary_key_id.to_bytes(4, "big")
    assert len(parsed.nonce) == NONCE_BYTES
    assert cipher.decrypt(record, ALICE) == PLAINTEXT
    assert PLAINTEXT not in record


def test_same_plaintext_twice_gives_unrelated_records(cipher: RecordCipher) -> None:
    first, second = cipher.encrypt(PLAINTEXT, ALICE), cipher.encrypt(PLAINTEXT, ALICE)
    other_user = cipher.encrypt(PLAINTEXT, BOB)
    assert len({first, second, other_user}) == 3
    assert first[HEADER_BYTES:] != second[HEADER_BYTES:]


def test_every_single_byte_change_is_refused(cipher: RecordCipher) -> None:
    record = cipher.encrypt(PLAINTEXT, ALICE)
    for position in range(len(record)):
        for flip in (0x01, 0x80):
            tampered = bytearray(record)
            tampered[position] ^= flip
            with pytest.raises(RecordError):
                cipher.decrypt(bytes(tampered), ALICE)


def test_version_and_algorithm_bytes_give_typed_format_errors(cipher: RecordCipher) -> None:
    record = bytearray(cipher.encrypt(PLAINTEXT, ALICE))
    for index in (0, 1):
        for value in (0, 2, 255):
            changed = bytearray(record)
            changed[index] = value
            with pytest.raises(RecordFormatError):
                cipher.decrypt(bytes(changed), ALICE)


def test_transplant_to_another_user_or_slot_fails(cipher: RecordCipher) -> None:
    record = cipher.encrypt(PLAINTEXT, ALICE)
    for wrong in (
        BOB,
        RecordContext(ALICE.user_id, "openai"),
        RecordContext("user-alic", "eanthropic"),
    ):
        with pytest.raises(RecordAuthenticationError):
            cipher.decrypt(record, wrong)


def test_wrong_or_unknown_master_key_id() -> None:
    old, new = generate_entry(), generate_entry()
    both = RecordCipher(parse_keyring(f"{new},{old}"))
    record = RecordCipher(parse_keyring(old)).encrypt(PLAINTEXT, ALICE)
    assert both.decrypt(record, ALICE) == PLAINTEXT
    relabelled = record[:2] + int(new.split(":")[0], 16).to_bytes(4, "big") + record[6:]
    with pytest.raises(RecordAuthenticationError):
        both.decrypt(relabelled, ALICE)
    with pytest.raises(UnknownMasterKeyError):
        RecordCipher(parse_keyring(new)).decrypt(record, ALICE)


def test_truncated_and_extended_records_fail(cipher: RecordCipher) -> None:
    record = cipher.encrypt(PLAINTEXT, ALICE)
    for length in range(len(record)):
        with pytest.raises(RecordError) as caught:
            cipher.decrypt(record[:length], ALICE)
        if length < MIN_RECORD_BYTES:
            assert isinstance(caught.value, RecordFormatError)
    with pytest.raises(RecordAuthenticationError):
        cipher.decrypt(record + b"\x00", ALICE)


def test_golden_records_still_decrypt() -> None:
    golden = json.loads((VECTORS / "golden_records.json").read_text())
    cipher = RecordCipher(parse_keyring(golden["master_keys"]))
    assert golden["records"]
    for entry in golden["records"]:
        record = bytes.fromhex(entry["record_hex"])
        assert record[0] == golden["format_version"]
        context = RecordContext(entry["user_id"], entry["provider"])
        assert cipher.decrypt(record, context) == bytes.fromhex(entry["plaintext_hex"])


def test_ten_thousand_encryptions_never_repeat_randomness(cipher: RecordCipher) -> None:
    seen_random, seen_nonce = set(), set()
    for _ in range(10_000):
        parsed = parse_record(cipher.encrypt(b"x", ALICE))
        seen_random.add(parsed.record_random)
        seen_nonce.add(parsed.nonce)
    assert len(seen_random) == len(seen_nonce) == 10_000


contexts = st.builds(
    RecordContext, st.text(min_size=1, max_size=40), st.sampled_from(["anthropic", "openai"])
)


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(max_size=300), context=contexts, other=contexts)
def test_property_round_trip_and_binding(
    cipher: RecordCipher, plaintext: bytes, context: RecordContext, other: RecordContext
) -> None:
    record = cipher.encrypt(plaintext, context)
    assert cipher.decrypt(record, context) == plaintext
    if other != context:
        with pytest.raises(RecordAuthenticationError):
            cipher.decrypt(record, other)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), plaintext=st.binary(max_size=120))
def test_property_any_mutation_fails(
    cipher: RecordCipher, data: st.DataObject, plaintext: bytes
) -> None:
    record = bytearray(cipher.encrypt(plaintext, ALICE))
    position = data.draw(st.integers(0, len(record) - 1))
    record[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(RecordError):
        cipher.decrypt(bytes(record), ALICE)


def test_fingerprint_is_keyed_not_a_plain_digest() -> None:
    key = b"sk-ant-api03-" + b"F" * 93 + b"AA"
    keyring = parse_keyring(generate_entry())
    fingerprint = KeyFingerprinter(keyring).fingerprint(key, ALICE)
    assert fingerprint == KeyFingerprinter(keyring).fingerprint(key, ALICE)
    assert fingerprint != KeyFingerprinter(keyring).fingerprint(key, BOB)
    assert fingerprint != KeyFingerprinter(parse_keyring(generate_entry())).fingerprint(key, ALICE)
    digest_part = fingerprint.removeprefix("fp_")
    for algorithm in ("sha256", "sha1", "md5"):
        assert digest_part not in hashlib.new(algorithm, key).hexdigest()

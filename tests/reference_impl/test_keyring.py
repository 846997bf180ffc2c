"""Master-secret parsing: anything missing, short, malformed, duplicated or well known is refused."""

from __future__ import annotations

import pytest

from reference_impl.keyring import (
    README_EXAMPLE_ENTRY,
    Keyring,
    KeyringError,
    generate_entry,
    parse_keyring,
)


def test_first_entry_is_primary_unless_named() -> None:
    first, second = generate_entry(), generate_entry()
    keyring = parse_keyring(f"{first}, {second}")
    assert keyring.primary.key_id_hex == first.split(":")[0]
    named = parse_keyring(f"{first},{second}", second.split(":")[0])
    assert named.primary.key_id_hex == second.split(":")[0]
    assert named.get(int(first.split(":")[0], 16)) is not None


def test_from_env_reads_both_variables() -> None:
    first, second = generate_entry(), generate_entry()
    keyring = Keyring.from_env(
        {"BYOK_MASTER_KEYS": f"{first},{second}", "BYOK_MASTER_PRIMARY": second[:8]}
    )
    assert keyring.primary.key_id_hex == second[:8]


def test_generated_entries_are_fresh_and_valid() -> None:
    entries = {generate_entry() for _ in range(50)}
    assert len(entries) == 50
    for entry in entries:
        parse_keyring(entry)


def test_repr_never_shows_the_secret() -> None:
    entry = generate_entry()
    keyring = parse_keyring(entry)
    secret_hex = entry.split(":")[1]
    for text in (repr(keyring), str(keyring), repr(keyring.primary), str(keyring.primary)):
        assert secret_hex not in text
        assert secret_hex[:16] not in text


GOOD_ID = "a1b2c3d4"
BAD_KEYRINGS = {
    "missing": "",
    "only commas": " , ,",
    "no id": "0f" * 32,
    "short id": "a1b2c3:" + generate_entry().split(":")[1],
    "short secret": f"{GOOD_ID}:" + generate_entry().split(":")[1][:62],
    "long secret": f"{GOOD_ID}:" + generate_entry().split(":")[1] + "ab",
    "not hex": f"{GOOD_ID}:" + "zz" * 32,
    "all zero": f"{GOOD_ID}:" + "00" * 32,
    "repeated byte": f"{GOOD_ID}:" + "41" * 32,
    "counting": f"{GOOD_ID}:" + bytes(range(32)).hex(),
    "0123 pattern": f"{GOOD_ID}:" + "0123456789abcdef" * 4,
    "ascii 0123": f"{GOOD_ID}:" + b"0123456789abcdef0123456789abcdef".hex(),
    "readme example": README_EXAMPLE_ENTRY,
}


@pytest.mark.parametrize("text", BAD_KEYRINGS.values(), ids=BAD_KEYRINGS.keys())
def test_bad_keyrings_are_refused_with_a_fix(text: str) -> None:
    with pytest.raises(KeyringError) as caught:
        parse_keyring(text)
    message = str(caught.value)
    assert "gen-secret" in message or "ID:HEX64" in message
    secret = text.split(":")[-1]
    if len(secret) >= 16:
        assert secret[:16] not in message


def test_duplicates_are_refused() -> None:
    entry = generate_entry()
    with pytest.raises(KeyringError, match="twice"):
        parse_keyring(f"{entry},{entry}")
    with pytest.raises(KeyringError, match="repeats the secret"):
        parse_keyring(f"{entry},b0b0b0b0:{entry.split(':')[1]}")


def test_primary_must_name_an_entry() -> None:
    entry = generate_entry()
    with pytest.raises(KeyringError, match="names no entry"):
        parse_keyring(entry, "deadbeef")
    with pytest.raises(KeyringError, match="8-hex-digit"):
        parse_keyring(entry, "primary")

from __future__ import annotations

from byok_audit.scan.redact import EXCERPT_CHARS, excerpt
from tests.scan.support import values

VALUES = values()


def _around(before: bytes, secret: bytes, after: bytes) -> str:
    window = before + secret + after
    return excerpt(window, len(before), len(before) + len(secret), "key:k1#abcd1234")


def test_the_hit_is_replaced_by_its_label() -> None:
    text = _around(b"x-api-key: ", VALUES["KEY1"].encode(), b"\nnext line")
    assert text == "x-api-key: «key:k1#abcd1234»⏎next line"


def test_other_key_shaped_strings_are_masked() -> None:
    other = VALUES["OTHERKEY"].encode()
    text = _around(
        b"old=" + other + b" new=", VALUES["KEY1"].encode(), b" hex=" + other.hex().encode()
    )
    assert VALUES["OTHERKEY"] not in text
    assert text == "old=sk-ant-api03-… new=«key:k1#abcd1234» hex=736b…"


def test_utf16_neighbours_are_masked_too() -> None:
    text = _around(VALUES["OTHERKEY"].encode("utf-16-le"), b"HIT-HIT-HIT", b"")
    assert text == "sk-ant-api03-…«key:k1#abcd1234»"


def test_a_token_cut_by_the_excerpt_edge_is_still_masked() -> None:
    before = b"start " + VALUES["OTHERKEY"].encode()[:100] + b" " * 30
    text = _around(before, b"HIT", b"")
    assert len(text) <= EXCERPT_CHARS + len("«key:k1#abcd1234»")
    assert VALUES["OTHERKEY"][20:60] not in text and "…" in text


def test_binary_and_control_bytes_are_shown_as_dots() -> None:
    assert _around(b"\x00\x01\xff\t", b"HIT", b"\r\n") == "·· «key:k1#abcd1234»⏎"

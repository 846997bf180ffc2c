from __future__ import annotations

import pytest

from byok_audit.scan.shapes import ANCHORS, SHAPES, confirm, layout
from tests.scan.support import values

VALUES = values()

EXPECTED = {
    "KEY1": "anthropic-api03",
    "OTHERKEY": "anthropic-api03",
    "ADMINKEY": "anthropic-admin01",
    "OAT1": "anthropic-oat01",
    "OTHERORT": "anthropic-ort01",
    "OTHERAPI04": "anthropic-other",
    "OAI1": "openai-proj",
    "OTHERSVC": "openai-svcacct",
    "OTHERADMIN": "openai-admin",
    "LEGACYOAI": "openai-legacy",
}


def _confirm(text: bytes) -> tuple[str, int, int] | None:
    for anchor in ANCHORS:
        at = text.find(anchor)
        if at >= 0 and (found := confirm(anchor, text, at)):
            return found
    return None


@pytest.mark.parametrize(("name", "shape"), EXPECTED.items())
def test_each_shape_is_recognised_in_context(name: str, shape: str) -> None:
    key = VALUES[name].encode()
    assert _confirm(b'Authorization: Bearer "' + key + b'"\n') == (shape, 23, 23 + len(key))


def test_every_shape_is_exercised() -> None:
    assert set(EXPECTED.values()) == {s.name for s in SHAPES}


@pytest.mark.parametrize(
    "text",
    [
        VALUES["KEY1"][:60].encode(),
        VALUES["LEGACYOAI"].encode() + b"ZZ",
        VALUES["OAI1"].encode() + b"Q",
        b"sk-ant-api03- and T3BlbkFJ alone",
    ],
)
def test_wrong_lengths_and_bare_anchors_are_not_keys(text: bytes) -> None:
    assert _confirm(text) is None


def test_layout_marks_prefix_and_public_markers() -> None:
    anthropic = layout(VALUES["KEY1"])
    assert anthropic.prefix_len == len("sk-ant-api03-")
    assert anthropic.constant == {106, 107}
    openai = layout(VALUES["OAI1"])
    marker = VALUES["OAI1"].index("T3BlbkFJ")
    assert openai.prefix_len == len("sk-proj-")
    assert openai.constant == set(range(marker, marker + 8))
    assert layout(VALUES["MASTER"]).prefix_len == 0

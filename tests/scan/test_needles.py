from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from byok_audit.models.canary import CanaryRole
from byok_audit.scan.needles import (
    MIN_LITERAL,
    b64_middles,
    describe_form,
    fragments,
    needles_for,
    split_layers,
)
from tests.scan.support import values

VALUES = values()


@given(st.binary(min_size=1, max_size=60), st.binary(max_size=8), st.binary(max_size=8))
def test_a_base64_middle_is_found_inside_any_larger_blob(
    data: bytes, before: bytes, after: bytes
) -> None:
    for urlsafe in (False, True):
        encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
        middle = b64_middles(data, urlsafe=urlsafe)[len(before) % 3]
        assert middle in encode(before + data + after)


def test_fragments_start_after_the_prefix_and_skip_the_display_suffix() -> None:
    key = VALUES["KEY1"]
    found = {f.decode() for f in fragments(key, min_len=8, display_suffix_len=12)}
    assert all(f in key[13:] for f in found)
    assert key[13:21] in found
    assert key[-12:-4] not in found, "wholly inside the 12-character display suffix"
    assert key[-13:-5] in found, "one character before the suffix is enough"


def test_fragments_never_consist_of_public_structure() -> None:
    key = VALUES["OAI1"]
    found = {f.decode() for f in fragments(key, min_len=8, display_suffix_len=4)}
    marker = key.index("T3BlbkFJ")
    assert "T3BlbkFJ" not in found
    assert key[marker - 2 : marker + 6] not in found, "six of eight characters are the marker"
    assert key[marker - 6 : marker + 2] in found, "six secret characters are enough"
    assert not any(f.startswith("proj-") for f in found)


def test_roles_decide_fragments_and_digests() -> None:
    def forms(name: str, role: CanaryRole) -> set[str]:
        needles = needles_for(
            VALUES[name],
            role,
            display_suffix_len=4,
            fragments_on=True,
            min_fragment=8,
            digests_on=True,
        )
        assert all(len(n.literal) >= MIN_LITERAL for n in needles)
        assert len({n.literal for n in needles}) == len(needles)
        return {n.form for n in needles}

    key = forms("KEY1", CanaryRole.KEY)
    assert {"raw", "base64", "fragment", "sha256-hex", "md5-base64url", "utf16le"} <= key
    prompt = forms("PROMPT", CanaryRole.PROMPT)
    assert "fragment" not in prompt and not any(f.startswith("sha") for f in prompt)
    master = forms("MASTER", CanaryRole.MASTER_SECRET)
    assert {"fragment", "hex-decoded", "hex-decoded+base64", "upper"} <= master
    assert not any(f.startswith("md5") for f in master)


def test_switches_turn_fragments_and_digests_off() -> None:
    needles = needles_for(
        VALUES["KEY1"],
        CanaryRole.KEY,
        display_suffix_len=4,
        fragments_on=False,
        min_fragment=8,
        digests_on=False,
    )
    assert not any(n.fragment or n.form.startswith(("sha", "md5")) for n in needles)


def test_layered_forms_are_described_inside_out() -> None:
    text = describe_form("zstd+gzip+base64")
    assert text.startswith("standard base64")
    assert text.index("gzip") < text.index("zstd")
    assert "'/'" in describe_form("sha256-base64+json-escape")


def test_base64_is_a_layer_only_in_front_of_a_compression_layer() -> None:
    assert split_layers("base64+gzip+raw") == (["base64", "gzip"], "raw")
    assert split_layers("gzip+base64+zlib+fragment") == (["gzip", "base64", "zlib"], "fragment")
    assert split_layers("base64") == ([], "base64")
    assert split_layers("base64+json-escape") == ([], "base64+json-escape")
    assert split_layers("zstd+base64") == (["zstd"], "base64")
    text = describe_form("base64+gzip+raw")
    assert text.startswith("the value as is")
    assert text.index("gzip") < text.index("base64 text")
    assert describe_form("base64+json-escape").startswith("standard base64")

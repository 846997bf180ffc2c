"""No output format may carry a whole canary: the leak checker must not leak.

The sample bundle's checks put a raw key and the prompt canary into their evidence; every format is
rendered and searched with the real leak scanner (every encoding, key fragments, digests).
"""

import pytest

from byok_audit.formats import FORMATS
from byok_audit.scan import Scanner
from tests.formats.sample import sample_bundle


@pytest.fixture(scope="module")
def scanner():
    return Scanner(sample_bundle().canaries.canaries)


def test_scanner_would_see_a_leak(scanner):
    key = sample_bundle().canaries.get("key-alice-1").value
    assert scanner.scan_bytes(f"logged {key[:30]}".encode(), "control")
    assert scanner.scan_bytes(f"<p>{key}</p>".encode(), "control")


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_no_canary_in_any_format(result, scanner, name):
    text = FORMATS[name].render(result)
    if name in ("json", "html", "sarif"):
        assert "key:key-alice-1" in text  # the evidence is there, redacted
    hits = scanner.scan_bytes(text.encode(), name)
    assert hits == [], [hit.label + " " + hit.form for hit in hits]

"""reports/example/ is a real audit of the reference server; it must match what the toolkit renders now.

Regenerate with ``bash scripts/regenerate-reports.sh`` (a fresh audit) after changing a check, a format
or the reference server; this test re-renders the committed evidence bundle and compares byte for byte.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from byok_audit.models.evidence import EvidenceBundle
from byok_audit.scan import Scanner

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "reports" / "example"
RENDERED = [
    "result.json",
    "scorecard.html",
    "junit.xml",
    "results.sarif",
    "summary.md",
    "badge.svg",
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rendered")
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "render-example-reports.sh"), str(out)], check=True
    )
    return out


@pytest.mark.parametrize("name", RENDERED)
def test_example_report_is_up_to_date(rendered: Path, name: str) -> None:
    committed = (EXAMPLE / name).read_bytes()
    assert (rendered / name).read_bytes() == committed, (
        f"reports/example/{name} is stale: run bash scripts/regenerate-reports.sh"
    )


def test_the_example_is_a_passing_audit_of_the_reference_server() -> None:
    result = json.loads((EXAMPLE / "result.json").read_text())
    assert result["target"]["name"] == "byok-ref"
    assert result["gate"]["passed"] is True
    statuses = {c["check_id"]: c["status"] for c in result["checks"]}
    assert {k for k, v in statuses.items() if v != "PASS"} == {"RTE-05"}


@pytest.mark.parametrize("name", RENDERED)
def test_no_report_contains_a_canary_in_any_form(name: str) -> None:
    bundle = EvidenceBundle.load(EXAMPLE / "bundle.json")
    scanner = Scanner(bundle.canaries.canaries, display_suffix_len=bundle.target.display_suffix_len)
    hits = scanner.scan_file(EXAMPLE / name)
    assert hits == [], [f"{h.role} {h.form} at {h.source}:{h.line}" for h in hits]

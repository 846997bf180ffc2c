"""The HTML scorecard: golden file, safety properties, and a real render in headless Chromium."""

import re
import shutil
import subprocess

import pytest

from byok_audit.formats import html
from tests.formats.conftest import REPO
from tests.formats.hostile import hostile

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT = REPO / "docs" / "scorecard.png"


def test_golden(result, golden):
    golden("scorecard.html", html.render(result))


def test_self_contained_with_no_script_and_no_network(result):
    page = html.render(result)
    assert "<script" not in page
    assert not re.search(r"\b(src|href)\s*=\s*\"(?!#)", page), "only in-page links are allowed"
    assert "@import" not in page and "url(" not in page and "<link" not in page
    assert "default-src 'none'" in page  # CSP: even a missed escape could load nothing
    assert "@media print" in page


def test_everything_a_reviewer_needs_is_on_the_page(result):
    page = html.render(result)
    assert re.search(r'class="grade-letter">B<', page)
    assert "Raw grade" in page and ">C<" in page
    for q in ("Q1", "Q2", "Q3", "Q4", "Q5"):
        assert f'class="q-id">{q}<' in page
    for check in result.checks:
        assert f'id="check-{check.check_id}"' in page
    assert "exchange 11: POST https://api.anthropic.com/v1/messages" in page  # evidence drill-down
    assert "Send one upstream request per prompt" in page  # remediation
    assert "medium failure caps the grade at B" in page  # caps with reasons
    assert "waivers.toml:2" in page and "expired on 2026-01-10" in page
    assert result.bundle_digest in page and "criteria version 1" in page


def test_target_text_is_escaped(result):
    page = html.render(hostile(result))
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def chromium(*args, tmp_path):
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (scripts/install-test-deps.sh)"
)
def test_renders_in_chromium_without_console_errors(result, tmp_path, update_golden):
    page = tmp_path / "scorecard.html"
    page.write_text(html.render(result), encoding="utf-8")
    url = page.as_uri()

    dom = chromium("--dump-dom", url, tmp_path=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
    assert 'class="grade-letter">B<' in dom.stdout

    shot = tmp_path / "scorecard.png"
    run = chromium("--window-size=1200,1500", f"--screenshot={shot}", url, tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    pdf = tmp_path / "scorecard.pdf"
    printed = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", url, tmp_path=tmp_path)
    assert printed.returncode == 0, printed.stderr[-2000:]
    assert pdf.read_bytes()[:5] == b"%PDF-"

    if update_golden:
        shutil.copyfile(shot, SCREENSHOT)


def test_size_budget_clips_huge_evidence(result):
    from byok_audit.models.finding import EvidenceRef

    flood = [EvidenceRef(kind="file", ref=f"app.log:{n}", detail="x" * 10_000) for n in range(80)]
    checks = [
        c.model_copy(update={"evidence": flood}) if c.check_id == "RTE-03" else c
        for c in result.checks
    ]
    page = html.render(result.model_copy(update={"checks": checks}))
    assert len(page) < 400_000
    assert "6000 more characters in the JSON result" in page
    assert "and 30 more in the JSON result" in page

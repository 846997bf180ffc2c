"""Golden files for the output formats: compared byte for byte, rewritten on request.

Rewrite with ``pytest tests/formats --update-golden`` (or ``BYOK_UPDATE_GOLDEN=1``), then review the diff.
The same switch rewrites ``docs/result.schema.json`` and the README screenshot ``docs/scorecard.png``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from byok_audit.models.result import AuditResult
from tests.formats.sample import sample_result

GOLDEN = Path(__file__).parent / "golden"
REPO = Path(__file__).resolve().parents[2]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files (tests/formats/golden, docs/result.schema.json, docs/scorecard.png)",
    )


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    flag = request.config.getoption("--update-golden", default=False)
    return bool(flag) or os.environ.get("BYOK_UPDATE_GOLDEN") == "1"


def compare_text(path: Path, text: str, update: bool) -> None:
    """Byte-for-byte comparison with a readable diff; ``update`` rewrites the file instead."""
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
        return
    assert path.exists(), f"{path} is missing: run pytest tests/formats --update-golden"
    expected = path.read_bytes()
    if text.encode() != expected:
        diff = difflib.unified_diff(
            expected.decode().splitlines(), text.splitlines(), "golden", "rendered", lineterm=""
        )
        shown = "\n".join(list(diff)[:60])
        pytest.fail(f"{path.name} differs from the rendered output:\n{shown}", pytrace=False)


@pytest.fixture
def golden(update_golden: bool) -> Callable[[str, str], None]:
    def check(name: str, text: str) -> None:
        compare_text(GOLDEN / name, text, update_golden)

    return check


@pytest.fixture(scope="session")
def result() -> AuditResult:
    return sample_result()

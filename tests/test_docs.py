"""Generated docs are current, and the README's commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from byok_audit.docs import GENERATED

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_doc_is_current(name: str) -> None:
    committed = (ROOT / "docs" / name).read_text(encoding="utf-8")
    assert GENERATED[name]() == committed, f"docs/{name} is stale: run python -m byok_audit.docs"


def quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_quickstart_is_exactly_two_commands_and_ci_runs_the_test_one_verbatim() -> None:
    commands = quickstart_commands()
    assert len(commands) == 2
    main_job, test_command = commands
    assert "byok-audit run --target reference_impl/profile.toml" in main_job
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci


def test_readme_documents_every_exit_code() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code in range(5):
        assert re.search(rf"^\| {code} \| ", readme, re.MULTILINE), code

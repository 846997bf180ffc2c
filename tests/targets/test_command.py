"""``byok-audit init`` writes the commented template, which loads as a valid profile."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from byok_audit.cli import main
from byok_audit.targets.profile import load_profile


def test_init_writes_a_profile_that_loads(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    result = CliRunner().invoke(main, ["init", str(path)])
    assert result.exit_code == 0, result.output
    assert load_profile(path).name == "my-platform"


def test_init_does_not_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("keep me")
    result = CliRunner().invoke(main, ["init", str(path)])
    assert result.exit_code != 0 and "exists" in result.output
    assert path.read_text() == "keep me"
    assert CliRunner().invoke(main, ["init", str(path), "--force"]).exit_code == 0
    assert path.read_text() != "keep me"

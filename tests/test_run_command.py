"""``byok-audit run`` exit codes for the failures that happen before or outside grading."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from byok_audit.cli import main

PROFILE = Path(__file__).resolve().parents[1] / "reference_impl" / "profile.toml"


def test_bad_profile_is_a_usage_error_naming_file_line_and_field(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text(PROFILE.read_text().replace('name = "byok-ref"', 'nam = "byok-ref"'))
    result = CliRunner().invoke(main, ["run", "--target", str(profile), "--out", str(tmp_path)])
    assert result.exit_code == 3
    assert "p.toml:3: nam: unknown field" in result.output


def test_unknown_scenario_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["run", "--target", str(PROFILE), "--scenario", "nope", "--out", str(tmp_path)]
    )
    assert result.exit_code == 3
    assert "unknown scenario" in result.output


def test_unknown_option_is_a_usage_error_not_incomplete(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "--target", str(PROFILE), "--frobnicate"])
    assert result.exit_code == 3


def test_target_that_exits_at_once_is_a_harness_error(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    text = PROFILE.read_text().replace('"byok-ref", "serve",', '"false", "serve",')
    profile.write_text(text)
    assert shutil.which("false")
    result = CliRunner().invoke(
        main, ["run", "--target", str(profile), "--out", str(tmp_path / "out"), "-q"]
    )
    assert result.exit_code == 4, result.output
    assert "harness error" in result.output
    assert not (tmp_path / "out" / "result.json").exists()


def test_an_unknown_command_is_a_usage_error() -> None:
    assert CliRunner().invoke(main, ["nosuch"]).exit_code == 3

"""``byok-audit scenarios`` lists and validates; a broken scenario folder is reported, not listed."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from byok_audit.cli import main


def test_lists_every_builtin_scenario_with_what_it_feeds() -> None:
    result = CliRunner().invoke(main, ["scenarios", "--steps"])
    assert result.exit_code == 0, result.output
    for name in (
        "t1-database-breach",
        "t2-malicious-code",
        "t3-log-leak",
        "rotation",
        "routing",
        "api-hygiene",
    ):
        assert name in result.output
    assert "feeds ENC-01" in result.output
    assert "tamper user=alice position=head" in result.output


def test_a_broken_scenario_folder_is_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('id = "bad"\ntitle = "t"\n')
    result = CliRunner().invoke(main, ["scenarios", "--dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "bad.toml" in result.output

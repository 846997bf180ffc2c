"""Scenario files: the shipped ones are valid; bad ones fail naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from byok_audit.checks import ALL_CHECKS
from byok_audit.errors import ScenarioError
from byok_audit.scenarios.loader import builtin_dir, load_scenario, load_scenarios

KNOWN = {c.id for c in ALL_CHECKS}
REQUIRED = {
    "t1-database-breach",
    "t2-malicious-code",
    "t3-log-leak",
    "rotation",
    "routing",
    "api-hygiene",
}

GOOD = """\
id = "{name}"
title = "t"
description = "d"
feeds = ["ROT-01"]
steps = [
    {{ action = "create_user", user = "alice" }},
    {{ action = "put_key", user = "alice", key = "k" }},
]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_every_shipped_scenario_is_valid_and_the_six_required_exist() -> None:
    scenarios = load_scenarios(None, builtin_dir(), known_checks=KNOWN)
    assert {s.id for s in scenarios} >= REQUIRED


def test_every_check_is_fed_by_some_scenario() -> None:
    fed = {c for s in load_scenarios(None, builtin_dir(), known_checks=KNOWN) for c in s.feeds}
    assert fed == KNOWN


def test_a_valid_file_loads(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "ok", GOOD.format(name="ok")), KNOWN)
    assert [s.action for s in scenario.steps] == ["create_user", "put_key"]


def test_unknown_step_field_names_the_line_and_field(tmp_path: Path) -> None:
    text = GOOD.format(name="bad").replace('key = "k"', 'kee = "k"')
    with pytest.raises(ScenarioError) as raised:
        load_scenario(write(tmp_path, "bad", text), KNOWN)
    error = raised.value
    assert error.file.endswith("bad.toml")
    assert error.line == 7
    assert error.field == "steps[1].kee"
    assert "unknown field" in str(error)


def test_unknown_action_is_refused(tmp_path: Path) -> None:
    text = GOOD.format(name="bad").replace('"create_user"', '"create_admin"')
    with pytest.raises(ScenarioError, match=r"bad\.toml:6: steps\[0\]"):
        load_scenario(write(tmp_path, "bad", text), KNOWN)


def test_unknown_check_id_and_id_mismatch_and_syntax_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"unknown check id.*ROT-99"):
        load_scenario(
            write(tmp_path, "a", GOOD.format(name="a").replace("ROT-01", "ROT-99")), KNOWN
        )
    with pytest.raises(ScenarioError, match="must match the file name"):
        load_scenario(write(tmp_path, "b", GOOD.format(name="other")), KNOWN)
    with pytest.raises(ScenarioError, match=r"c\.toml:2: TOML syntax error"):
        load_scenario(write(tmp_path, "c", 'id = "c"\ntitle = \n'), KNOWN)


def test_asking_for_a_missing_scenario_lists_the_available_ones(tmp_path: Path) -> None:
    write(tmp_path, "ok", GOOD.format(name="ok"))
    with pytest.raises(ScenarioError, match=r"unknown scenario.*nope.*available: ok"):
        load_scenarios(["nope"], tmp_path, KNOWN)

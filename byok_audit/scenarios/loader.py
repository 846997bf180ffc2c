"""Find, read and validate scenario files; errors name the file, the line and the field."""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import ValidationError

from byok_audit.errors import ScenarioError
from byok_audit.models.steps import StepAction
from byok_audit.scenarios.model import Scenario
from byok_audit.tomlfile import first_problem, key_lines, line_of, read_toml


def builtin_dir() -> Path:
    """The shipped scenarios: the source tree's ``scenarios/``, or where a wheel installed them."""
    source = Path(__file__).resolve().parents[2] / "scenarios"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "byok-audit" / "scenarios"


def load_scenario(path: Path, known_checks: set[str] | None = None) -> Scenario:
    file = str(path)
    text, data = read_toml(path, ScenarioError, "scenario")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise first_problem(
            exc,
            text,
            file,
            ScenarioError,
            unknown="unknown field (check its spelling, and which fields this action takes)",
            skip=_ACTIONS,  # a discriminated union puts the action name in the location
        ) from None
    if scenario.id != path.stem:
        raise ScenarioError(
            f"id {scenario.id!r} must match the file name {path.stem!r}",
            file=file,
            line=line_of(key_lines(text), ("id",)),
            field="id",
        )
    unknown = sorted(set(scenario.feeds) - known_checks) if known_checks is not None else []
    if unknown:
        raise ScenarioError(
            f"unknown check id(s): {', '.join(unknown)}",
            file=file,
            line=line_of(key_lines(text), ("feeds",)),
            field="feeds",
        )
    return scenario


_ACTIONS = frozenset(StepAction)


def load_scenarios(
    names: list[str] | None = None,
    directory: Path | None = None,
    known_checks: set[str] | None = None,
) -> list[Scenario]:
    """The named scenarios (all of them, sorted, when ``names`` is empty) from ``directory``."""
    directory = directory or builtin_dir()
    available = {p.stem: p for p in sorted(directory.glob("*.toml"))}
    if not available:
        raise ScenarioError("no scenario files (*.toml) found", file=str(directory))
    wanted = names or sorted(available)
    missing = [n for n in wanted if n not in available]
    if missing:
        raise ScenarioError(
            f"unknown scenario(s) {', '.join(missing)}; available: {', '.join(available)}",
            file=str(directory),
        )
    return [load_scenario(available[n], known_checks) for n in wanted]

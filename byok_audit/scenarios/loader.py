"""Find, read and validate scenario files; errors name the file, the line and the field."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from pydantic import ValidationError

from byok_audit.errors import ScenarioError
from byok_audit.scenarios.model import Scenario
from byok_audit.targets.toml_lines import key_lines, line_of


def builtin_dir() -> Path:
    """The shipped scenarios: the source tree's ``scenarios/``, or where a wheel installed them."""
    source = Path(__file__).resolve().parents[2] / "scenarios"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "byok-audit" / "scenarios"


def _field(loc: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def load_scenario(path: Path, known_checks: set[str] | None = None) -> Scenario:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario: {exc}", file=file) from None
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ScenarioError(
            f"TOML syntax error: {exc}", file=file, line=int(line.group(1)) if line else None
        ) from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        # a misspelt field also shows up as the real one "missing": report the misspelling first
        error = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        loc = tuple(error["loc"])
        # a discriminated union puts the action name in the loc: drop it, keep the field
        loc = tuple(p for p in loc if not (isinstance(p, str) and p in _ACTIONS))
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field (check its spelling, and which fields this action takes)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ScenarioError(
            message + more, file=file, line=line_of(key_lines(text), loc), field=_field(loc)
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


_ACTIONS = {
    "create_user",
    "put_key",
    "get_key",
    "delete_key",
    "prompt",
    "idle",
    "fault",
    "bad_input",
    "snapshot",
    "tamper",
    "transplant",
    "restart",
}


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

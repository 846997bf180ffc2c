"""``byok-audit scenarios``: list (and validate) the scenarios a run would perform."""

from __future__ import annotations

from pathlib import Path

import click

from byok_audit.checks import ALL_CHECKS
from byok_audit.errors import ConfigError
from byok_audit.scenarios.loader import builtin_dir, load_scenarios


@click.command("scenarios")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="Scenario folder (default: the built-in scenarios).",
)
@click.option("--steps", "show_steps", is_flag=True, help="Also list each scenario's steps.")
def scenarios_command(directory: Path | None, show_steps: bool) -> None:
    """List and validate scenarios: id, threats, the checks each one feeds.

    Example: byok-audit scenarios --steps
    """
    try:
        scenarios = load_scenarios(None, directory, known_checks={c.id for c in ALL_CHECKS})
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"# {directory or builtin_dir()}", err=True)
    for scenario in scenarios:
        threats = " ".join([*scenario.threats, *scenario.questions])
        click.echo(f"{scenario.id:<20} {threats:<10} {scenario.title}")
        click.echo(f"{'':<20} feeds {', '.join(scenario.feeds)}")
        if show_steps:
            for number, step in enumerate(scenario.steps, 1):
                fields = step.model_dump(exclude={"action"}, exclude_none=True)
                detail = " ".join(f"{k}={v}" for k, v in fields.items())
                click.echo(f"{'':<22}{number:>2}. {step.action} {detail}")

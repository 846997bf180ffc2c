"""``byok-audit init``: write a commented target profile to start auditing a platform from."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import click

TEMPLATE = files("byok_audit.targets").joinpath("template.toml")


@click.command("init")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), default="byok-target.toml")
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def init_command(path: Path, force: bool) -> None:
    """Write a commented target profile template to PATH (default: byok-target.toml).

    Example: byok-audit init my-platform.toml && byok-audit run --target my-platform.toml
    """
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; pass --force to overwrite it")
    path.write_text(TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
    click.echo(f"wrote {path}: fill in how to start your platform and call its key API", err=True)

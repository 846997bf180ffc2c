"""``byok-audit collect``: run a target's basic flow behind the harness and save the evidence bundle.

The basic flow: users alice and bob; alice stores key-alice-1 and prompts (plain, then streaming); bob
stores key-bob-1; both read their key back; alice replaces hers with key-alice-2 and prompts; alice
deletes it and prompts once more (which should be refused). Exit codes: 0 bundle written, 3 profile or
usage error, 4 harness error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from byok_audit.audit_run import AuditRun
from byok_audit.errors import HarnessError, ProfileError
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.report_command import AuditCommand
from byok_audit.scoring.gate import ExitCode
from byok_audit.targets.profile import load_profile


def basic_flow(run: AuditRun) -> None:
    """The steps every target supports; the evidence most checks are graded on."""
    run.create_user("alice")
    run.create_user("bob")
    run.put_key("alice", "key-alice-1")
    run.prompt("alice")
    run.prompt("alice", stream=True)
    run.put_key("bob", "key-bob-1")
    run.get_key("alice")
    run.get_key("bob")
    run.put_key("alice", "key-alice-2")
    run.prompt("alice")
    run.delete_key("alice")
    run.prompt("alice")


def collect_bundle(
    profile_path: Path, *, workdir: Path | None = None, keep_workdir: bool = False
) -> EvidenceBundle:
    """Load the profile, run the basic flow, return the bundle (raises ProfileError/HarnessError)."""
    profile = load_profile(profile_path)

    def progress(message: str) -> None:
        click.echo(f"[collect] {message}", err=True)

    with AuditRun(profile, workdir=workdir, keep_workdir=keep_workdir, progress=progress) as run:
        basic_flow(run)
        progress(f"ran {len(run.steps)} steps; stopping the target and the proxy")
        bundle = run.finish()
        if run.keep_workdir and run.workdir is not None:
            progress(f"workdir kept at {run.workdir}")
        return bundle


@click.command("collect", cls=AuditCommand)
@click.option(
    "--target",
    "profile_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Target profile (TOML).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the evidence bundle (JSON).",
)
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Run in this directory (kept afterwards) instead of a temporary one.",
)
@click.option("--keep-workdir", is_flag=True, help="Keep the temporary workdir for inspection.")
def collect_command(
    profile_path: Path, output: Path, workdir: Path | None, keep_workdir: bool
) -> None:
    """Run the target's basic flow behind the harness and write the evidence bundle."""
    try:
        bundle = collect_bundle(profile_path, workdir=workdir, keep_workdir=keep_workdir)
    except ProfileError as exc:
        click.echo(f"profile error: {exc}", err=True)
        sys.exit(ExitCode.USAGE)
    except HarnessError as exc:
        click.echo(f"harness error: {exc}", err=True)
        sys.exit(ExitCode.HARNESS)
    bundle.save(output)
    click.echo(
        f"[collect] wrote {output}: {len(bundle.steps)} steps, {len(bundle.exchanges)} exchanges, "
        f"{len(bundle.files)} files",
        err=True,
    )

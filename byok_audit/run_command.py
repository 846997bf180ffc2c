"""``byok-audit run``: audit a target end to end — scenarios, evidence, checks, scorecard, gate.

It writes the evidence bundle and the JSON result into ``--out`` (so the run can be re-graded or
re-rendered later with ``byok-audit report``), prints a summary table, writes any ``--output``
formats, and exits by the gate: 0 passed, 1 findings, 2 incomplete, 3 usage/configuration, 4 harness.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from byok_audit.audit_run import AuditRun
from byok_audit.checks import ALL_CHECKS
from byok_audit.errors import ConfigError, HarnessError
from byok_audit.evaluate import evaluate, sha256_digest
from byok_audit.formats import OutputSpec
from byok_audit.harness.seal import seal_problem
from byok_audit.models.result import AuditResult
from byok_audit.report_command import (
    AuditCommand,
    ReportOptions,
    UsageFailure,
    finish,
    report_options,
    today_utc,
)
from byok_audit.scenarios.loader import load_scenarios
from byok_audit.scenarios.runner import run_scenarios
from byok_audit.scoring.gate import ExitCode
from byok_audit.seal import sealed_profile_problem
from byok_audit.targets.profile import load_profile

STATUS_MARK = {
    "PASS": "PASS",
    "FAIL": "FAIL",
    "WARN": "WARN",
    "NOT_APPLICABLE": "n/a ",
    "ERROR": "ERR ",
    "WAIVED": "WAIV",
}


def summary_table(result: AuditResult) -> str:
    """One line per check: status, id, severity, title; then the grade line."""
    lines = [
        f"{STATUS_MARK[str(c.status)]}  {c.check_id:<7} {c.severity!s:<8} {c.title}"
        for c in result.checks
    ]
    score = "n/a" if result.effective.score is None else f"{result.effective.score:g}/100"
    lines.append(f"grade {result.effective.grade}  score {score}")
    return "\n".join(lines)


@click.command("run", cls=AuditCommand)
@click.option(
    "--target",
    "profile_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Target profile (TOML).",
)
@click.option(
    "--scenario",
    "scenario_names",
    multiple=True,
    help="Run only this scenario (repeatable). Default: all of them.",
)
@click.option(
    "--scenarios-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Read scenarios from this folder instead of the built-in ones.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("byok-audit-out"),
    show_default=True,
    help="Folder for bundle.json (the evidence) and result.json (the graded result).",
)
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Run the target in this folder (kept afterwards) instead of a temporary one.",
)
@click.option(
    "--sealed",
    is_flag=True,
    help=(
        "Seal egress (needed for RTE-05 and so for grade A+): run the whole audit in a fresh network "
        "namespace whose only ways out are loopback and the proxy's TUN device, so any connection or "
        "DNS query that ignores HTTPS_PROXY is recorded. Needs root and /dev/net/tun (Linux). Nothing "
        "on the host's network is reachable from inside, not even its loopback: a PostgreSQL target "
        "database must be given by a Unix-socket DSN."
    ),
)
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@report_options
def run_command(
    profile_path: Path,
    scenario_names: tuple[str, ...],
    scenarios_dir: Path | None,
    out_dir: Path,
    workdir: Path | None,
    sealed: bool,
    quiet: bool,
    options: ReportOptions,
) -> None:
    """Audit a target: run the scenarios behind the harness, grade, report, gate.

    Example: byok-audit run --target reference_impl/profile.toml -o html:scorecard.html
    """
    try:
        profile = load_profile(profile_path)
        scenarios = load_scenarios(
            list(scenario_names), scenarios_dir, known_checks={c.id for c in ALL_CHECKS}
        )
    except ConfigError as error:
        raise UsageFailure(str(error)) from None
    problem = sealed and (seal_problem() or sealed_profile_problem(profile))
    if problem:
        raise UsageFailure(problem)

    def progress(message: str) -> None:
        if not quiet:
            click.echo(f"[run] {message}", err=True)

    try:
        with AuditRun(profile, workdir=workdir, progress=progress, sealed=sealed) as run:
            bundle = run_scenarios(run, scenarios)
    except HarnessError as error:
        click.echo(f"harness error: {error}", err=True)
        sys.exit(ExitCode.HARNESS)

    out_dir.mkdir(parents=True, exist_ok=True)
    text = bundle.dumps()
    (out_dir / "bundle.json").write_text(text, encoding="utf-8")
    result = evaluate(
        bundle,
        today=today_utc(),
        waivers=options.waivers or [],
        gate=options.gate,
        bundle_digest=sha256_digest(text.encode()),
        code_attestation=options.code_attestation,
    )
    click.echo(summary_table(result))
    outputs = [OutputSpec("json", str(out_dir / "result.json")), *options.outputs]
    if options.outputs == [OutputSpec("markdown", "-")]:
        outputs = outputs[:1]  # the table above already went to stdout
    click.get_current_context().exit(finish(result, outputs))

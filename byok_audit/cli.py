"""The ``byok-audit`` command line. Kept thin: each command lives beside the code it drives."""

from __future__ import annotations

import click

from byok_audit import CRITERIA_VERSION, __version__
from byok_audit.checks.catalog import checks_command
from byok_audit.collect import collect_command
from byok_audit.matrix import matrix_command
from byok_audit.report_command import attest_command, report_command, verify_command
from byok_audit.run_command import run_command
from byok_audit.scan.command import scan_command
from byok_audit.scenarios.command import scenarios_command
from byok_audit.scoring.gate import ExitCode
from byok_audit.targets.command import init_command


class AuditGroup(click.Group):
    """Usage errors exit 3 here too (click's 2 means "incomplete audit" in byok-audit)."""

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[no-untyped-def]
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as error:
            error.exit_code = ExitCode.USAGE
            raise

    def resolve_command(self, ctx, args):  # type: ignore[no-untyped-def]
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as error:
            error.exit_code = ExitCode.USAGE
            raise


@click.group(cls=AuditGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, message=f"%(prog)s %(version)s (criteria {CRITERIA_VERSION})")
def main() -> None:
    """Audit "bring your own key" LLM platforms: key storage, routing, logs and deletion."""


# Each command is registered explicitly, one line each.
main.add_command(run_command)
main.add_command(init_command)
main.add_command(checks_command)
main.add_command(scenarios_command)
main.add_command(collect_command)
main.add_command(scan_command)
main.add_command(report_command)
main.add_command(attest_command)
main.add_command(verify_command)
main.add_command(matrix_command)

"""``byok-audit scan``: a standalone secret-leak scanner to point at a log directory today.

Without a needle file it looks for real-shaped provider keys; with one, it also looks for each listed
secret in every form (encodings, fragments, digests, compressed and streamed payloads).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

import click

from byok_audit.models.canary import Canary, CanaryRole
from byok_audit.scan.engine import ENGINES
from byok_audit.scan.needles import MIN_LITERAL
from byok_audit.scan.report import FORMATS, render_json, render_sarif, render_text
from byok_audit.scan.scanner import Scanner, iter_files

EXIT_CLEAN, EXIT_HITS, EXIT_USAGE = 0, 1, 2

NEEDLE_FILE_HELP = (
    "One secret per line; blank lines and lines starting with # are ignored. A line may be "
    "ROLE<TAB>VALUE with ROLE one of "
    + ", ".join(r.value for r in CanaryRole)
    + " (default key: all forms, fragments and digests). Hits are labelled ROLE:lineN."
)


def read_needles(path: Path) -> list[Canary]:
    """Canaries from a needle file; ``click.BadParameter`` naming the file and line on bad input."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise click.BadParameter(f"cannot read needle file {path}: {reason}") from None
    roles = {role.value: role for role in CanaryRole}
    needles = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        role, value = CanaryRole.KEY, line
        head, tab, rest = line.partition("\t")
        if tab and head.strip() in roles:
            role, value = roles[head.strip()], rest
        value = value.strip()
        if len(value) < MIN_LITERAL:
            raise click.BadParameter(
                f"{path}:{number}: needle shorter than {MIN_LITERAL} characters (too short to search for)"
            )
        needles.append(Canary(id=f"line{number}", role=role, value=value))
    if not needles:
        raise click.BadParameter(f"needle file {path} holds no needles")
    return needles


class _Progress:
    """``scanned 120.0/512.0 MiB (23%)`` on stderr, redrawn at most five times a second."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.finished = 0
        self.current: tuple[str, int] = ("", 0)
        self.last = 0.0

    def __call__(self, source: str, done: int) -> None:
        if source != self.current[0]:
            self.finished += self.current[1]
        self.current = (source, done)
        now = time.monotonic()
        if now - self.last >= 0.2:
            self.last = now
            mib = (self.finished + done) / 2**20
            share = 100 * (self.finished + done) / self.total
            self.stream.write(f"\rscanned {mib:.1f}/{self.total / 2**20:.1f} MiB ({share:.0f}%)  ")
            self.stream.flush()

    def close(self) -> None:
        if self.last:
            self.stream.write("\n")
            self.stream.flush()


@click.command("scan", epilog=NEEDLE_FILE_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--needle-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Secrets to look for in every form (see below).",
)
@click.option(
    "--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True
)
@click.option(
    "--display-suffix",
    type=click.IntRange(min=0),
    default=4,
    show_default=True,
    help="Trailing characters of a key that may be shown alone (not reported as a fragment).",
)
@click.option(
    "--shapes/--no-shapes",
    default=True,
    show_default=True,
    help="Also report real-shaped provider keys.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress on stderr (default: when it is a terminal).",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default=None,
    help="Force a search engine (default: fastest installed).",
)
@click.option(
    "-o",
    "--output",
    type=click.File("w"),
    default="-",
    help="Write the report here instead of stdout.",
)
def scan_command(
    paths: tuple[Path, ...],
    needle_file: Path | None,
    output_format: str,
    display_suffix: int,
    shapes: bool,
    progress: bool | None,
    engine: str | None,
    output: TextIO,
) -> None:
    """Scan files and directories (recursively, compressed and rotated logs included) for leaked secrets.

    Exit status: 0 nothing found, 1 hits, 2 usage error or a file that could not be scanned.
    """
    for path in paths:
        if not path.exists():
            raise click.BadParameter(f"{path}: no such file or directory", param_hint="PATH")
    needles = read_needles(needle_file) if needle_file is not None else []
    if not needles and not shapes:
        raise click.UsageError("nothing to look for: give --needle-file or leave --shapes on")
    unreadable: list[str] = []
    files = list(iter_files(paths, unreadable))
    total = sum(f.stat().st_size for f in files)
    meter = (
        _Progress(total, sys.stderr)
        if (progress if progress is not None else sys.stderr.isatty())
        else None
    )
    try:
        scanner = Scanner(
            needles,
            display_suffix_len=display_suffix,
            shapes=shapes,
            engine=engine,
            on_progress=meter,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    started = time.monotonic()
    hits = scanner.scan_paths(files)
    elapsed = time.monotonic() - started
    if meter is not None:
        meter.close()
    warnings = [f"not scanned: {problem}" for problem in unreadable] + scanner.warnings
    unreadable += scanner.unreadable
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if output_format == "json":
        output.write(render_json(hits))
    elif output_format == "sarif":
        output.write(render_sarif(hits, warnings=warnings))
    else:
        sources = len({hit.source for hit in hits})
        found = f"{len(hits)} hit(s) in {sources} source(s)" if hits else "no hits"
        output.write(
            render_text(
                hits,
                summary=f"{found}; scanned {len(files)} file(s), {total / 2**20:.1f} MiB "
                f"in {elapsed:.1f} s ({scanner.engine_name} engine)",
            )
        )
    click.get_current_context().exit(
        EXIT_HITS if hits else EXIT_USAGE if unreadable else EXIT_CLEAN
    )

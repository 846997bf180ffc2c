"""Generated documentation: the check catalog and the CLI reference under ``docs/``.

``python -m byok_audit.docs`` rewrites them; ``tests/test_docs.py`` fails when they are stale.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from byok_audit.checks.catalog import render_markdown


def _help(*command: str) -> str:
    """``byok-audit COMMAND --help`` from a fresh interpreter, 100 columns wide: click caches each
    command's help option on first use, so rendering in-process would depend on what ran before."""
    env = {**os.environ, "COLUMNS": "100", "LINES": "50"}
    done = subprocess.run(
        [sys.executable, "-m", "byok_audit", *command, "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout.replace("Usage: python -m byok_audit", "Usage: byok-audit").rstrip("\n")


def cli_reference() -> str:
    """Every command's ``--help``, as the terminal shows it."""
    from byok_audit.cli import main

    lines = [
        "# CLI reference",
        "",
        "Generated from `byok-audit COMMAND --help` (`python -m byok_audit.docs`).",
    ]
    lines += ["", "## byok-audit", "", "```", _help(), "```"]
    for name in sorted(main.commands):
        lines += ["", f"## byok-audit {name}", "", "```", _help(name), "```"]
    return "\n".join(lines) + "\n"


GENERATED = {"checks.md": render_markdown, "cli.md": cli_reference}
DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> None:
    for name, render in GENERATED.items():
        (DOCS / name).write_text(render(), encoding="utf-8")
        print(f"wrote {DOCS / name}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Generated documentation: the check catalog and the CLI reference under ``docs/``.

``python -m byok_audit.docs`` rewrites them; ``tests/test_docs.py`` fails when they are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from byok_audit.checks.catalog import render_markdown


def cli_reference() -> str:
    """Every command's ``--help``, as the terminal shows it (fixed width, the group's settings)."""
    from byok_audit.cli import main

    lines = [
        "# CLI reference",
        "",
        "Generated from `byok-audit COMMAND --help` (`python -m byok_audit.docs`).",
    ]
    width = {"terminal_width": 100, "max_content_width": 100}
    context = click.Context(main, info_name="byok-audit", **width, **main.context_settings)
    lines += ["", "## byok-audit", "", "```", main.get_help(context), "```"]
    for name in sorted(main.commands):
        command = main.commands[name]
        sub = click.Context(command, info_name=name, parent=context, **width)
        lines += ["", f"## byok-audit {name}", "", "```", command.get_help(sub), "```"]
    return "\n".join(lines) + "\n"


GENERATED = {"checks.md": render_markdown, "cli.md": cli_reference}
DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> None:
    for name, render in GENERATED.items():
        (DOCS / name).write_text(render(), encoding="utf-8")
        print(f"wrote {DOCS / name}", file=sys.stderr)


if __name__ == "__main__":
    main()

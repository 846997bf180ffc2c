"""Output formats: each a module with a pure ``render(result: AuditResult) -> str``, listed in ``FORMATS``.

To add a format: write ``byok_audit/formats/<name>.py`` with ``NAME``, ``SUFFIX`` and ``render``, add it
to the tuple below, and add ``tests/formats/test_<name>.py`` with a golden file. A renderer reads only
the result: no clock, environment or I/O, so the same result always gives the same bytes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from byok_audit.errors import ByokAuditError
from byok_audit.formats import badge, html, json, junit, markdown, sarif
from byok_audit.models.result import AuditResult


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    render: Callable[[AuditResult], str]


FORMATS: dict[str, Format] = {
    module.NAME: Format(module.NAME, module.SUFFIX, module.render)
    for module in (html, json, junit, sarif, markdown, badge)
}


class OutputSpecError(ByokAuditError):
    """An ``--output FORMAT:PATH`` value is malformed or names an unknown format."""


@dataclass(frozen=True)
class OutputSpec:
    """One requested output: a format name and a path (``-`` for standard output)."""

    format: str
    path: str

    @classmethod
    def parse(cls, value: str) -> OutputSpec:
        name, sep, path = value.partition(":")
        if not sep or not path:
            raise OutputSpecError(f"{value!r}: expected FORMAT:PATH, e.g. html:report.html")
        if name not in FORMATS:
            known = ", ".join(FORMATS)
            raise OutputSpecError(f"{value!r}: unknown format {name!r} (known: {known})")
        return cls(name, path)


def write_outputs(result: AuditResult, outputs: Sequence[OutputSpec]) -> list[str]:
    """Render every output first (a renderer bug writes nothing), then write them; returns the paths."""
    rendered = [(spec, FORMATS[spec.format].render(result)) for spec in outputs]
    written = []
    for spec, text in rendered:
        if spec.path == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            path = Path(spec.path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        written.append(spec.path)
    return written


__all__ = ["FORMATS", "Format", "OutputSpec", "OutputSpecError", "write_outputs"]

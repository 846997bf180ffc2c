"""A shields-style SVG badge: effective grade, audit date and criteria version. Self-contained.

The badge is a claim about one result; publish it beside a signed attestation (``byok-audit attest``)
so readers can verify it. When waivers changed the grade, the raw grade is shown too.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from byok_audit.models.result import AuditResult, Grade

NAME = "badge"
SUFFIX = ".svg"

COLORS: dict[Grade, str] = {
    Grade.A_PLUS: "#2e7d32",
    Grade.A: "#43a047",
    Grade.A_MINUS: "#7cb342",
    Grade.B: "#c0a000",
    Grade.C: "#ef8c00",
    Grade.F: "#d32f2f",
    Grade.INCOMPLETE: "#757575",
}

# Approximate advance widths of Verdana 11px (shields.io's font); textLength makes the glyphs fit.
_NARROW = set("fijlrt!.,:;'|()[] ")
_WIDE = set("mwMW@%")


def text_width(text: str) -> int:
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 4.2
        elif char in _WIDE:
            width += 10.5
        elif char.isupper() or char.isdigit() or char in "+-#":
            width += 7.6
        else:
            width += 6.6
    return round(width)


def render(result: AuditResult) -> str:
    label = "BYOK audit"
    grade = result.effective.grade
    shown = str(grade) if result.raw.grade == grade else f"{grade} (raw {result.raw.grade})"
    value = f"{shown} · {result.ended.date().isoformat()} · criteria v{result.criteria_version}"
    left = text_width(label) + 12
    right = text_width(value) + 12
    total = left + right
    color = COLORS[grade]
    title = f"{label}: {value} ({result.target.name})"
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label={quoteattr(title)}>
  <title>{escape(title)}</title>
  <linearGradient id="s" x2="0" y2="100%">
    <stop offset="0" stop-color="#bbb" stop-opacity=".1"/>
    <stop offset="1" stop-opacity=".1"/>
  </linearGradient>
  <clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>
  <g clip-path="url(#r)">
    <rect width="{left}" height="20" fill="#555"/>
    <rect x="{left}" width="{right}" height="20" fill="{color}"/>
    <rect width="{total}" height="20" fill="url(#s)"/>
  </g>
  <g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
    <text x="{left / 2:g}" y="15" fill="#010101" fill-opacity=".3" textLength="{left - 12}">{escape(label)}</text>
    <text x="{left / 2:g}" y="14" textLength="{left - 12}">{escape(label)}</text>
    <text x="{left + right / 2:g}" y="15" fill="#010101" fill-opacity=".3" textLength="{right - 12}">{escape(value)}</text>
    <text x="{left + right / 2:g}" y="14" textLength="{right - 12}">{escape(value)}</text>
  </g>
</svg>
"""

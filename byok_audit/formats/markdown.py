"""Markdown for a CI job summary (``$GITHUB_STEP_SUMMARY``) or a pull-request comment.

Grade and gate first, then the caps, then what failed, then a compact table of every check. Text that
came from the target (summaries, evidence) is escaped: a PR comment must not render a link or an image
the audited platform chose.
"""

from __future__ import annotations

import re

from byok_audit.formats.words import ANSWER_WORDS, STATUS_WORDS, score_text, urgent_first
from byok_audit.models.finding import Status
from byok_audit.models.result import AuditResult

NAME = "markdown"
SUFFIX = ".md"

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_STATUS_MARK = {
    Status.PASS: "✅ PASS",
    Status.FAIL: "❌ FAIL",
    Status.WARN: "⚠️ WARN",
    Status.NOT_APPLICABLE: "➖ N/A",
    Status.ERROR: "⛔ ERROR",
    Status.WAIVED: "💤 WAIVED",
}


def esc(text: str) -> str:
    """Inline-safe Markdown: one line, special characters and HTML escaped."""
    flat = " ".join(text.split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;")
    return _SPECIAL.sub(r"\\\1", flat)


def render(result: AuditResult) -> str:
    raw, eff = result.raw, result.effective
    lines = [f"## byok-audit: {esc(result.target.name)}", ""]
    grade = f"**Grade {eff.grade}**"
    if raw.grade != eff.grade:
        grade += f" with waivers (raw **{raw.grade}**)"
    scores = f"score {score_text(eff.score)}/100"
    if raw.score != eff.score:
        scores += f" (raw {score_text(raw.score)})"
    lines.append(f"{grade} · {scores} · criteria version {esc(result.criteria_version)}")
    lines.append("")
    gate = result.gate
    verdict = "passed" if gate.passed else "failed"
    lines.append(f"**Gate {verdict}** (exit {gate.exit_code})")
    lines.extend(f"- {esc(reason)}" for reason in gate.reasons)
    lines.append("")
    lines.append(f"> {esc(eff.reason)}")
    lines.append("")

    if raw.caps:
        lines += ["### Caps", ""]
        for cap in raw.caps:
            waived = result.check(cap.check_id).status is Status.WAIVED
            note = " (waived)" if waived else ""
            lines.append(f"- **{cap.grade}** · {esc(cap.reason)}{note}")
        lines.append("")

    attention = [c for c in urgent_first(result.checks) if c.status in (Status.FAIL, Status.ERROR)]
    if attention:
        lines += ["### Needs attention", ""]
        for check in attention:
            lines.append(
                f"- {_STATUS_MARK[check.status]} **{check.check_id}** {esc(check.title)} "
                f"({check.severity}): {esc(check.summary)}"
            )
            if check.status is Status.FAIL and check.remediation:
                lines.append(f"  - Fix: {esc(check.remediation)}")
        lines.append("")

    lines += ["### The five questions", "", "| | Question | Answer |", "|---|---|---|"]
    for view in result.questions:
        lines.append(
            f"| {view.question} | {esc(view.text)} | **{ANSWER_WORDS[view.answer]}**. "
            f"{esc(view.summary)} |"
        )
    lines.append("")

    counts = ", ".join(
        f"{result.count(status)} {STATUS_WORDS[status]}"
        for status in Status
        if result.count(status)
    )
    lines += [
        "<details><summary>All checks (" + esc(counts) + ")</summary>",
        "",
        "| Check | Status | Severity | Summary |",
        "|---|---|---|---|",
    ]
    for check in urgent_first(result.checks):
        lines.append(
            f"| {check.check_id} {esc(check.title)} | {_STATUS_MARK[check.status]} | "
            f"{check.severity} | {esc(check.summary)} |"
        )
    lines += ["", "</details>", ""]

    if result.waivers:
        lines += [
            "### Waivers",
            "",
            "| Check | State | Owner | Expires | Note |",
            "|---|---|---|---|---|",
        ]
        for w in result.waivers:
            lines.append(
                f"| {esc(w.waiver.check)} | {w.state} | {esc(w.waiver.owner)} | "
                f"{w.waiver.expires.isoformat()} | {esc(w.note)} |"
            )
        lines.append("")

    lines.append(
        f"<sub>byok-audit {esc(result.tool_version)} · run {esc(result.run_id)} · "
        f"{result.ended.strftime('%Y-%m-%d %H:%M UTC')} · evidence {result.bundle_digest[:19]}…</sub>"
    )
    return "\n".join(lines) + "\n"

"""``byok-audit matrix``: audit a target and its deliberately flawed variants; does every check fire?

A variants file (TOML) names each variant, the arguments that turn the target into it (appended to the
profile's start command, e.g. ``["--flaw", "soft-delete"]``), the checks that must FAIL on it
(``expect``: the checks that name the flaw) and the checks that may FAIL as an explained consequence
(``also``: check id → one-line why). The clean target and every variant are audited in separate
processes, each a full :class:`~byok_audit.audit_run.AuditRun` with every scenario. The toolkit never
imports the target: it only reads the file and starts processes.

Scoring is over (audit, check) cells. A cell in ``expect`` is a positive: caught when it FAILs; any
other status, ERROR included, is a miss. Every clean-target cell and every variant cell outside
``expect`` and ``also`` is a negative: a FAIL there is a false positive, an ERROR counts against the
audit too (it is not a true negative); PASS, WARN, NOT_APPLICABLE and WAIVED are true negatives.
``also`` cells are shown but not scored. Youden's J = recall + specificity − 1.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path

import click
from jinja2 import Environment
from pydantic import Field, ValidationError, field_validator, model_validator

from byok_audit import __version__
from byok_audit.audit_run import AuditRun
from byok_audit.checks import ALL_CHECKS
from byok_audit.errors import ConfigError
from byok_audit.evaluate import evaluate, sha256_digest
from byok_audit.models.base import Strict
from byok_audit.models.finding import Status
from byok_audit.report_command import AuditCommand, UsageFailure, today_utc
from byok_audit.scenarios.loader import load_scenarios
from byok_audit.scenarios.model import Scenario
from byok_audit.scenarios.runner import run_scenarios
from byok_audit.targets.profile import Profile, load_profile
from byok_audit.tomlfile import first_problem, read_toml

CLEAN = "clean"
CHECK_IDS = tuple(c.id for c in ALL_CHECKS)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
#: Statuses that are neither a detection nor a failure of the audit.
_QUIET = {Status.PASS, Status.WARN, Status.NOT_APPLICABLE, Status.WAIVED}


class VariantsError(ConfigError):
    """The variants file is invalid."""


# -- the variants file ----------------------------------------------------------------------------------


class Variant(Strict):
    """One flawed variant: how to start it, what must catch it, what else may fire and why."""

    name: str
    args: list[str] = Field(min_length=1)
    expect: list[str] = Field(min_length=1)
    also: dict[str, str] = {}
    note: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value) or value == CLEAN:
            raise ValueError(
                f"{value!r} is not a variant name (lowercase letters, digits, '-'; not '{CLEAN}')"
            )
        return value

    @field_validator("expect")
    @classmethod
    def _expect(cls, value: list[str]) -> list[str]:
        for check_id in value:
            if check_id not in CHECK_IDS:
                raise ValueError(f"{check_id!r} is not a check id of this toolkit")
        if len(set(value)) != len(value):
            raise ValueError("a check is listed twice")
        return value

    @field_validator("also")
    @classmethod
    def _also(cls, value: dict[str, str]) -> dict[str, str]:
        for check_id, why in value.items():
            if check_id not in CHECK_IDS:
                raise ValueError(f"{check_id!r} is not a check id of this toolkit")
            if not why.strip():
                raise ValueError(f"{check_id}: say in one line why it fails too")
        return value

    @model_validator(mode="after")
    def _disjoint(self) -> Variant:
        both = sorted(set(self.expect) & set(self.also))
        if both:
            raise ValueError(f"{', '.join(both)} listed in both expect and also")
        return self


class VariantsFile(Strict):
    variant: list[Variant] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> VariantsFile:
        names = [v.name for v in self.variant]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"variant names must be unique: {', '.join(twice)}")
        return self


def load_variants(path: Path) -> list[Variant]:
    """Read and validate a variants file; errors name the file, line and field."""
    text, data = read_toml(path, VariantsError, "the variants file", syntax="not valid TOML")
    try:
        return VariantsFile.model_validate(data).variant
    except ValidationError as exc:
        raise first_problem(exc, text, str(path), VariantsError, whole=("variant",)) from None


# -- one audit ----------------------------------------------------------------------------------------


class Cell(Strict):
    status: Status
    summary: str = ""


class AuditJob(Strict):
    """One audit for a worker: the scenarios are loaded once, by the parent, for every audit."""

    name: str
    profile: Path
    args: list[str]
    scenarios: list[Scenario]
    evidence_dir: Path | None = None


class AuditOutcome(Strict):
    """One audit's statuses per check (all ERROR when the harness failed), and how long it took."""

    name: str
    args: list[str]
    cells: dict[str, Cell]
    seconds: float
    harness_error: str | None = None
    run_errors: list[str] = []


def variant_profile(profile: Profile, args: Sequence[str]) -> Profile:
    """The profile with ``args`` appended to its start command."""
    if profile.start is None:
        raise UsageFailure(
            f"profile {profile.source or profile.name} has no [start]: the matrix must start "
            "each variant itself"
        )
    start = profile.start.model_copy(update={"command": [*profile.start.command, *args]})
    return profile.model_copy(update={"start": start})


def audit(job: AuditJob) -> AuditOutcome:
    """Run every scenario against one variant and grade it (in a worker process).

    Whatever goes wrong comes back as an outcome with every cell ERROR and the reason: one broken
    audit must not take the other audits (or the worker pool) with it.
    """
    started = time.monotonic()
    try:
        return _audit(job, started)
    except Exception as error:  # reported in the matrix as ERROR cells, never as a catch
        cells = {c: Cell(status=Status.ERROR, summary="the audit did not run") for c in CHECK_IDS}
        return AuditOutcome(
            name=job.name,
            args=job.args,
            cells=cells,
            seconds=time.monotonic() - started,
            harness_error=f"{type(error).__name__}: {error}",
        )


def _audit(job: AuditJob, started: float) -> AuditOutcome:
    profile = variant_profile(load_profile(job.profile), job.args)
    workdir = job.evidence_dir / job.name / "run" if job.evidence_dir else None
    with AuditRun(profile, workdir=workdir) as run:
        bundle = run_scenarios(run, job.scenarios)
    text = bundle.dumps()
    result = evaluate(bundle, today=today_utc(), bundle_digest=sha256_digest(text.encode()))
    if job.evidence_dir is not None:
        out = job.evidence_dir / job.name
        out.mkdir(parents=True, exist_ok=True)
        (out / "bundle.json").write_text(text, encoding="utf-8")
        (out / "result.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return AuditOutcome(
        name=job.name,
        args=job.args,
        cells={c.check_id: Cell(status=c.status, summary=c.summary) for c in result.checks},
        seconds=time.monotonic() - started,
        run_errors=result.run_errors,
    )


def _worker_setup() -> None:
    """A worker dies with the matrix, and a terminated worker still stops its target and proxy."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


# -- scoring ------------------------------------------------------------------------------------------


class Row(Strict):
    """One audit in the matrix: the variant's declarations beside what the audit observed."""

    name: str
    args: list[str]
    expect: list[str]
    also: dict[str, str]
    note: str = ""
    outcome: AuditOutcome

    def status(self, check_id: str) -> Status:
        cell = self.outcome.cells.get(check_id)
        return cell.status if cell else Status.ERROR

    @property
    def caught(self) -> bool:
        return all(self.status(c) == Status.FAIL for c in self.expect)

    @property
    def missed(self) -> list[str]:
        return [c for c in self.expect if self.status(c) != Status.FAIL]

    @property
    def false_positives(self) -> list[str]:
        return [
            c
            for c in CHECK_IDS
            if c not in self.expect and c not in self.also and self.status(c) == Status.FAIL
        ]

    @property
    def errors(self) -> list[str]:
        return [c for c in CHECK_IDS if self.status(c) == Status.ERROR]

    def mark(self, check_id: str) -> str:
        """The cell's class: caught, missed, explained, false-positive, error or quiet."""
        status = self.status(check_id)
        if check_id in self.expect:
            return "caught" if status == Status.FAIL else "missed"
        if status == Status.ERROR:
            return "error"
        if status == Status.FAIL:
            return "explained" if check_id in self.also else "false-positive"
        return "quiet"


class Metrics(Strict):
    variants: int
    variants_caught: int
    positives: int
    true_positives: int
    negatives: int
    true_negatives: int
    false_positives: int
    errors: int
    recall: float
    specificity: float
    youden: float


def score(rows: Sequence[Row]) -> Metrics:
    """Recall, specificity and Youden's J over the (audit, check) cells; see the module docstring."""
    positives = true_positives = negatives = true_negatives = false_positives = errors = 0
    for row in rows:
        for check_id in CHECK_IDS:
            status = row.status(check_id)
            errors += status == Status.ERROR
            if check_id in row.expect:
                positives += 1
                true_positives += status == Status.FAIL
            elif check_id not in row.also:
                negatives += 1
                true_negatives += status in _QUIET
                false_positives += status == Status.FAIL
    variants = [r for r in rows if r.name != CLEAN]
    recall = true_positives / positives if positives else 0.0
    specificity = true_negatives / negatives if negatives else 0.0
    return Metrics(
        variants=len(variants),
        variants_caught=sum(r.caught for r in variants),
        positives=positives,
        true_positives=true_positives,
        negatives=negatives,
        true_negatives=true_negatives,
        false_positives=false_positives,
        errors=errors,
        recall=recall,
        specificity=specificity,
        youden=recall + specificity - 1,
    )


class MatrixResult(Strict):
    tool_version: str
    generated: datetime
    profile: str
    variants_file: str
    jobs: int
    wall_seconds: float
    checks: list[str]
    rows: list[Row]
    metrics: Metrics

    def row(self, name: str) -> Row:
        return next(r for r in self.rows if r.name == name)


# -- running ------------------------------------------------------------------------------------------


def run_matrix(
    profile: Path,
    variants_file: Path,
    *,
    jobs: int = 2,
    only: Sequence[str] = (),
    scenarios_dir: Path | None = None,
    evidence_dir: Path | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> MatrixResult:
    """Audit the clean target and each variant (``only``: just these), ``jobs`` audits at a time."""
    load_profile(profile)  # a bad profile is a usage error before any process starts
    variants = load_variants(variants_file)
    scenarios = load_scenarios(None, scenarios_dir, known_checks=set(CHECK_IDS))
    if evidence_dir is not None and evidence_dir.exists() and any(evidence_dir.iterdir()):
        raise UsageFailure(f"--evidence {evidence_dir} is not empty; give a new or empty folder")
    unknown = sorted(set(only) - {v.name for v in variants})
    if unknown:
        raise UsageFailure(f"no variant named {', '.join(unknown)} in {variants_file}")
    chosen = [v for v in variants if not only or v.name in only]
    declared = {CLEAN: Variant.model_construct(name=CLEAN, args=[], expect=[], also={}, note="")}
    declared |= {v.name: v for v in chosen}
    jobs_list = [
        AuditJob(
            name=name,
            profile=profile,
            args=variant.args,
            scenarios=scenarios,
            evidence_dir=evidence_dir,
        )
        for name, variant in declared.items()
    ]
    started = time.monotonic()
    outcomes: dict[str, AuditOutcome] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_worker_setup
    ) as pool:
        futures = {pool.submit(audit, job): job.name for job in jobs_list}
        for future in as_completed(futures):
            outcome = future.result()
            outcomes[outcome.name] = outcome
            failed = sum(c.status == Status.FAIL for c in outcome.cells.values())
            progress(
                f"{len(outcomes)}/{len(jobs_list)} {outcome.name}: {failed} FAIL "
                f"({outcome.seconds:.0f} s)"
                + (f", harness error: {outcome.harness_error}" if outcome.harness_error else "")
            )
    rows = [
        Row(
            name=name,
            args=variant.args,
            expect=variant.expect,
            also=variant.also,
            note=variant.note,
            outcome=outcomes[name],
        )
        for name, variant in declared.items()
    ]
    return MatrixResult(
        tool_version=__version__,
        generated=datetime.now(UTC).replace(microsecond=0),
        profile=str(profile),
        variants_file=str(variants_file),
        jobs=jobs,
        wall_seconds=time.monotonic() - started,
        checks=list(CHECK_IDS),
        rows=rows,
        metrics=score(rows),
    )


# -- reports ------------------------------------------------------------------------------------------

#: One character per cell in the Markdown grid.
SYMBOLS = {
    "caught": "✔",
    "missed": "✘",
    "explained": "f",
    "false-positive": "F",
    "error": "E",
}
QUIET_SYMBOLS = {
    Status.PASS: "·",
    Status.WARN: "w",
    Status.NOT_APPLICABLE: "–",
    Status.WAIVED: "~",
}
LEGEND = (
    "✔ expected FAIL observed · ✘ expected FAIL missed · f FAIL explained by `also` · "
    "F unexplained FAIL (false positive) · E ERROR · `·` PASS · w WARN · – NOT_APPLICABLE"
)


def symbol(row: Row, check_id: str) -> str:
    mark = row.mark(check_id)
    return SYMBOLS.get(mark) or QUIET_SYMBOLS.get(row.status(check_id), "?")


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _verdict(row: Row) -> str:
    parts = []
    if row.name != CLEAN:
        parts.append("caught" if row.caught else f"MISSED {', '.join(row.missed)}")
    if row.false_positives:
        parts.append(f"false positive {', '.join(row.false_positives)}")
    if row.errors:
        parts.append(f"ERROR {', '.join(row.errors)}")
    if row.outcome.harness_error:
        parts.append(f"harness error: {row.outcome.harness_error}")
    return "; ".join(parts) or "clean: no FAIL, no ERROR"


def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: MatrixResult) -> str:
    m = result.metrics
    lines = [
        "# Detection matrix",
        "",
        f"The reference server and {m.variants} deliberately flawed variants, each audited end to end "
        f"by byok-audit {result.tool_version} (every scenario, a separate process per audit, "
        f"{result.jobs} at a time). Regenerate with:",
        "",
        "```sh",
        f"byok-audit matrix --target {result.profile} --variants {result.variants_file} "
        f"--jobs {result.jobs} --out reports/",
        "```",
        "",
        "| measure | value |",
        "|---|---|",
        f"| variants caught by every check they name | {m.variants_caught} of {m.variants} |",
        f"| recall (expected FAIL cells observed) | {m.true_positives} / {m.positives} = {_pct(m.recall)} |",
        f"| specificity (other cells not FAIL, not ERROR) | {m.true_negatives} / {m.negatives} = {_pct(m.specificity)} |",
        f"| false positives (unexplained FAIL cells) | {m.false_positives} |",
        f"| ERROR cells | {m.errors} |",
        f"| Youden's J (recall + specificity − 1) | {m.youden:.3f} |",
        f"| matrix wall time | {_duration(result.wall_seconds)} |",
        "",
        "## Variants",
        "",
        "| variant | expect (must FAIL) | also (may FAIL, why) | observed | audit time |",
        "|---|---|---|---|---|",
    ]
    for row in result.rows:
        expect = ", ".join(f"{c} {row.status(c)}" for c in row.expect) or "—"
        also = "; ".join(f"{c} {row.status(c)}: {why}" for c, why in row.also.items()) or "—"
        lines.append(
            f"| `{row.name}` | {expect} | {_escape_cell(also)} | {_escape_cell(_verdict(row))} "
            f"| {row.outcome.seconds:.0f} s |"
        )
    noted = [row for row in result.rows if row.note]
    if noted:
        lines += ["", "Notes:", ""]
        lines += [f"- `{row.name}`: {_escape_cell(row.note)}" for row in noted]
    lines += ["", "## Grid", "", LEGEND, ""]
    lines.append("| variant | " + " | ".join(result.checks) + " |")
    lines.append("|---|" + "---|" * len(result.checks))
    for row in result.rows:
        cells = " | ".join(symbol(row, c) for c in result.checks)
        lines.append(f"| `{row.name}` | {cells} |")
    notes = [
        (row.name, c, row.outcome.cells[c].summary)
        for row in result.rows
        for c in result.checks
        if row.mark(c) in ("missed", "false-positive", "error") and c in row.outcome.cells
    ]
    if notes:
        lines += ["", "## Misses, false positives and errors", ""]
        lines += [f"- `{name}` {c}: {_escape_cell(summary)}" for name, c, summary in notes]
    lines += [
        "",
        f"Generated {result.generated:%Y-%m-%d %H:%M} UTC. A cell is scored from its status only: "
        "an ERROR is never a catch.",
        "",
    ]
    return "\n".join(lines)


_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>byok-audit detection matrix</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;margin:2rem auto;max-width:1400px;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:2rem 0 .6rem}
p.lead{color:#4a5468;margin:0 0 1.2rem}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.kpis{display:flex;flex-wrap:wrap;gap:.8rem}.kpi{border:1px solid #d9dee8;border-radius:8px;padding:.6rem .9rem;min-width:10rem}
.kpi b{display:block;font-size:1.35rem}.kpi span{color:#4a5468;font-size:12px}
table{border-collapse:collapse}th,td{border:1px solid #e3e7ef;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#f4f6fa;font-weight:600}
table.grid td.c{text-align:center;width:1.6rem;padding:.2rem 0;font-weight:600}
table.grid th.v{writing-mode:vertical-rl;transform:rotate(180deg);font:11px ui-monospace,monospace;padding:.3rem 0}
td.caught{background:#1f7a4d;color:#fff}td.missed{background:#b3261e;color:#fff}
td.explained{background:#cfe8d8;color:#1f5b3a}td.false-positive{background:#f2b8b5;color:#7a1410}
td.error{background:#f6d58e;color:#6b4a00}td.quiet{color:#9aa3b5}
.legend span{display:inline-block;margin:0 .8rem .3rem 0}.legend i{display:inline-block;width:.9rem;height:.9rem;border-radius:2px;vertical-align:-2px;margin-right:.3rem}
.bad{color:#b3261e;font-weight:600}.ok{color:#1f7a4d;font-weight:600}
td.why{color:#4a5468;font-size:13px;max-width:34rem}
div.note{color:#4a5468;font-size:12px;max-width:22rem;margin-top:.2rem}
</style>
</head>
<body>
<h1>Detection matrix</h1>
<p class="lead">The reference server and {{ m.variants }} deliberately flawed variants, each audited end to end by
byok-audit {{ r.tool_version }} (every scenario, one process per audit, {{ r.jobs }} at a time).
Generated {{ r.generated.strftime("%Y-%m-%d %H:%M") }} UTC from <code>{{ r.variants_file }}</code>.</p>
<div class="kpis">
<div class="kpi"><b>{{ m.variants_caught }} / {{ m.variants }}</b><span>variants caught by every check they name</span></div>
<div class="kpi"><b>{{ pct(m.recall) }}</b><span>recall: {{ m.true_positives }} / {{ m.positives }} expected FAIL cells</span></div>
<div class="kpi"><b>{{ pct(m.specificity) }}</b><span>specificity: {{ m.true_negatives }} / {{ m.negatives }} other cells</span></div>
<div class="kpi"><b>{{ m.false_positives }}</b><span>false positives (unexplained FAIL)</span></div>
<div class="kpi"><b>{{ m.errors }}</b><span>ERROR cells</span></div>
<div class="kpi"><b>{{ "%.3f"|format(m.youden) }}</b><span>Youden's J = recall + specificity − 1</span></div>
<div class="kpi"><b>{{ duration(r.wall_seconds) }}</b><span>matrix wall time</span></div>
</div>
<h2>Grid</h2>
<p class="legend">
<span><i class="" style="background:#1f7a4d"></i>expected FAIL observed</span>
<span><i style="background:#b3261e"></i>expected FAIL missed</span>
<span><i style="background:#cfe8d8"></i>FAIL explained by <code>also</code></span>
<span><i style="background:#f2b8b5"></i>unexplained FAIL</span>
<span><i style="background:#f6d58e"></i>ERROR</span>
<span>· PASS, w WARN, – NOT_APPLICABLE</span></p>
<table class="grid">
<tr><th>variant</th>{% for c in r.checks %}<th class="v">{{ c }}</th>{% endfor %}</tr>
{% for row in r.rows %}<tr><th><code>{{ row.name }}</code></th>
{% for c in r.checks %}{% set cell = row.outcome.cells.get(c) %}<td class="c {{ row.mark(c) }}" title="{{ c }} {{ row.status(c) }}{% if cell %}: {{ cell.summary }}{% endif %}{% if c in row.also %} (also: {{ row.also[c] }}){% endif %}">{{ symbol(row, c) }}</td>{% endfor %}
</tr>
{% endfor %}</table>
<h2>Variants</h2>
<table>
<tr><th>variant</th><th>server args</th><th>expect (must FAIL)</th><th>also (may FAIL)</th><th>observed</th><th>time</th></tr>
{% for row in r.rows %}<tr>
<td><code>{{ row.name }}</code>{% if row.note %}<div class="note">{{ row.note }}</div>{% endif %}</td><td><code>{{ row.args|join(" ") }}</code></td>
<td>{% for c in row.expect %}{{ c }} <span class="{{ 'ok' if row.status(c) == 'FAIL' else 'bad' }}">{{ row.status(c) }}</span><br>{% endfor %}</td>
<td class="why">{% for c, why in row.also.items() %}{{ c }} {{ row.status(c) }}: {{ why }}<br>{% endfor %}</td>
<td class="why">{{ verdict(row) }}</td><td>{{ "%.0f"|format(row.outcome.seconds) }} s</td>
</tr>
{% endfor %}</table>
{% if notes %}<h2>Misses, false positives and errors</h2>
<ul>{% for name, c, summary in notes %}<li><code>{{ name }}</code> {{ c }}: {{ summary }}</li>{% endfor %}</ul>{% endif %}
<p class="lead">A cell is scored from its status only: an ERROR is never a catch. Cells in <code>also</code> are shown, not scored.</p>
</body>
</html>
"""


def render_html(result: MatrixResult) -> str:
    """One self-contained page: inline CSS, autoescaped text, no scripts, no external resources."""
    environment = Environment(autoescape=True, trim_blocks=False, lstrip_blocks=False)
    notes = [
        (row.name, c, row.outcome.cells[c].summary)
        for row in result.rows
        for c in result.checks
        if row.mark(c) in ("missed", "false-positive", "error") and c in row.outcome.cells
    ]
    return environment.from_string(_HTML).render(
        r=result,
        m=result.metrics,
        notes=notes,
        pct=_pct,
        duration=_duration,
        symbol=symbol,
        verdict=_verdict,
    )


def write_reports(result: MatrixResult, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "detection-matrix.md", out / "detection-matrix.html"]
    written[0].write_text(render_markdown(result), encoding="utf-8")
    written[1].write_text(render_html(result), encoding="utf-8")
    return written


# -- command ------------------------------------------------------------------------------------------


@click.command("matrix", cls=AuditCommand)
@click.option(
    "--target",
    "profile_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Profile of the clean target (its start command gets each variant's args appended).",
)
@click.option(
    "--variants",
    "variants_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Variants file (TOML): name, args, expect, also per [[variant]].",
)
@click.option(
    "--jobs", type=click.IntRange(1, 64), default=2, show_default=True, help="Audits at a time."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("reports"),
    show_default=True,
    help="Folder for detection-matrix.md and detection-matrix.html.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the whole matrix (every cell, status and summary) as JSON here.",
)
@click.option(
    "--variant",
    "only",
    multiple=True,
    help="Audit only this variant (repeatable); the clean target is always audited.",
)
@click.option(
    "--evidence",
    "evidence_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep each audit's bundle.json, result.json and workdir under this folder.",
)
@click.option(
    "--scenarios-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Read scenarios from this folder instead of the built-in ones.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def matrix_command(
    profile_path: Path,
    variants_path: Path,
    jobs: int,
    out_dir: Path,
    json_path: Path | None,
    only: tuple[str, ...],
    evidence_dir: Path | None,
    scenarios_dir: Path | None,
    quiet: bool,
) -> None:
    """Audit a target and its flawed variants; report which checks caught which flaw.

    Exit 0 when every variant is caught by every check it names and nothing else FAILs or ERRORs
    outside its declarations, 1 otherwise, 3 for a bad profile or variants file.

    Example: byok-audit matrix --target reference_impl/profile.toml --variants reference_impl/variants.toml
    """

    def progress(message: str) -> None:
        if not quiet:
            click.echo(f"[matrix] {message}", err=True)

    try:
        result = run_matrix(
            profile_path,
            variants_path,
            jobs=jobs,
            only=only,
            scenarios_dir=scenarios_dir,
            evidence_dir=evidence_dir.resolve() if evidence_dir else None,
            progress=progress,
        )
    except ConfigError as error:
        raise UsageFailure(str(error)) from None
    for path in write_reports(result, out_dir):
        click.echo(f"wrote {path}", err=True)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(result.model_dump_json(indent=2), encoding="utf-8")
        click.echo(f"wrote {json_path}", err=True)
    m = result.metrics
    click.echo(
        f"{m.variants_caught}/{m.variants} variants caught; recall {_pct(m.recall)}, "
        f"specificity {_pct(m.specificity)}, Youden's J {m.youden:.3f}; "
        f"{m.false_positives} false positive(s), {m.errors} ERROR cell(s); "
        f"wall time {_duration(result.wall_seconds)}"
    )
    perfect = m.variants_caught == m.variants and not m.false_positives and not m.errors
    sys.exit(0 if perfect else 1)

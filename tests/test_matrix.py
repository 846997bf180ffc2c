"""The detection matrix: its variants file, its scoring and reports, and (e2e) the real thing.

The e2e part audits the reference server and every variant of reference_impl/variants.toml once per
session (real byok-ref processes, real mitmdump, every scenario) and asserts per variant, so a
failure names the flaw that slipped through or the check that fired where it should not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from byok_audit.cli import main
from byok_audit.matrix import (
    CHECK_IDS,
    CLEAN,
    AuditOutcome,
    Cell,
    MatrixResult,
    Row,
    VariantsError,
    load_variants,
    render_html,
    render_markdown,
    score,
    variant_profile,
)
from byok_audit.models.finding import Status
from byok_audit.targets.profile import load_profile

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "reference_impl" / "profile.toml"
VARIANTS_FILE = REPO / "reference_impl" / "variants.toml"
VARIANTS = load_variants(VARIANTS_FILE)
NOT_APPLICABLE_HERE = {"RTE-05"}  # sealed egress needs network namespaces

GOOD = """
[[variant]]
name = "soft-delete"
args = ["--flaw", "soft-delete"]
expect = ["ROT-03"]
also = { "ROT-04" = "the same reason" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "variants.toml"
    path.write_text(text)
    return path


# -- the variants file --------------------------------------------------------------------------------


def test_load_variants_reads_name_args_expect_and_also(tmp_path: Path) -> None:
    (variant,) = load_variants(write(tmp_path, GOOD))
    assert variant.name == "soft-delete"
    assert variant.args == ["--flaw", "soft-delete"]
    assert variant.expect == ["ROT-03"]
    assert variant.also == {"ROT-04": "the same reason"}


@pytest.mark.parametrize(
    ("text", "field", "line", "message"),
    [
        (GOOD.replace('["ROT-03"]', '["ROT-99"]'), "variant[0].expect", 5, "not a check id"),
        (GOOD.replace('"ROT-04" =', '"ROT-03" ='), "variant[0]", 2, "both expect and also"),
        (
            GOOD.replace('name = "soft-delete"', 'name = "clean"'),
            "variant[0].name",
            3,
            "not a variant name",
        ),
        (GOOD.replace("expect", "expects"), "variant[0].expects", 5, "unknown field"),
        (GOOD + GOOD, "variant", 2, "must be unique"),
        (GOOD.replace('"the same reason"', '" "'), "variant[0].also", 6, "say in one line why"),
    ],
)
def test_load_variants_names_file_line_and_field(
    tmp_path: Path, text: str, field: str, line: int, message: str
) -> None:
    with pytest.raises(VariantsError) as raised:
        load_variants(write(tmp_path, text))
    assert raised.value.field == field
    assert raised.value.line == line
    assert message in raised.value.message


def test_load_variants_refuses_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(VariantsError, match="not valid TOML"):
        load_variants(write(tmp_path, "[[variant]\n"))


def test_variant_profile_appends_the_args_to_the_start_command() -> None:
    profile = load_profile(PROFILE)
    assert profile.start is not None
    changed = variant_profile(profile, ["--flaw", "soft-delete"])
    assert changed.start is not None
    assert changed.start.command == [*profile.start.command, "--flaw", "soft-delete"]
    assert profile.start.command[-1] != "soft-delete"  # the loaded profile is not modified


def test_every_check_but_sealed_egress_is_named_by_some_variant() -> None:
    named = {check_id for variant in VARIANTS for check_id in variant.expect}
    assert set(CHECK_IDS) - named == NOT_APPLICABLE_HERE


# -- scoring and reports ------------------------------------------------------------------------------


def row(name: str, statuses: dict[str, Status], expect=(), also=None) -> Row:  # type: ignore[no-untyped-def]
    cells = {
        c: Cell(status=statuses.get(c, Status.PASS), summary=f"{c} said <b>so</b>")
        for c in CHECK_IDS
    }
    outcome = AuditOutcome(name=name, args=[], cells=cells, seconds=1.0)
    return Row(name=name, args=[], expect=list(expect), also=dict(also or {}), outcome=outcome)


def test_score_counts_cells_and_never_counts_an_error_as_a_catch() -> None:
    rows = [
        row(CLEAN, {"RTE-05": Status.NOT_APPLICABLE, "LOG-06": Status.FAIL}),
        row(
            "a",
            {
                "ENC-01": Status.FAIL,
                "ENC-02": Status.ERROR,
                "ENC-04": Status.FAIL,
                "API-01": Status.FAIL,
            },
            expect=["ENC-01", "ENC-02"],
            also={"ENC-04": "deterministic"},
        ),
        row("b", {"ROT-03": Status.FAIL, "ROT-01": Status.WARN}, expect=["ROT-03"]),
    ]
    m = score(rows)
    cells = len(CHECK_IDS)
    assert (m.positives, m.true_positives) == (3, 2)
    assert m.negatives == 3 * cells - 3 - 1
    assert m.false_positives == 2  # clean LOG-06 and a's API-01; a's ENC-04 is explained
    assert m.errors == 1
    assert m.true_negatives == m.negatives - 2
    assert (m.variants, m.variants_caught) == (2, 1)
    assert m.youden == pytest.approx(2 / 3 + m.true_negatives / m.negatives - 1)
    assert rows[1].missed == ["ENC-02"] and rows[1].false_positives == ["API-01"]
    assert [rows[1].mark(c) for c in ("ENC-01", "ENC-02", "ENC-04", "API-01", "USE-01")] == [
        "caught",
        "missed",
        "explained",
        "false-positive",
        "quiet",
    ]


def matrix(rows: list[Row]) -> MatrixResult:
    return MatrixResult.model_validate(
        {
            "tool_version": "0",
            "generated": "2026-01-01T00:00:00Z",
            "profile": "p.toml",
            "variants_file": "v.toml",
            "jobs": 2,
            "wall_seconds": 75.0,
            "checks": list(CHECK_IDS),
            "rows": rows,
            "metrics": score(rows),
        }
    )


def test_reports_show_the_grid_the_measures_and_escape_summaries() -> None:
    result = matrix(
        [
            row(CLEAN, {"RTE-05": Status.NOT_APPLICABLE}),
            row("soft-delete", {"ROT-03": Status.FAIL, "API-02": Status.FAIL}, expect=["ROT-03"]),
        ]
    )
    result.rows[1].note = "deleted_at <set>"
    markdown = render_markdown(result)
    assert "| `soft-delete` |" in markdown and "false positive API-02" in markdown
    assert "1 min 15 s" in markdown and "Youden" in markdown
    assert "- `soft-delete`: deleted_at <set>" in markdown
    grid = next(line for line in markdown.splitlines() if line.startswith("| `soft-delete` | ·"))
    assert grid.count("✔") == 1 and grid.count("F") == 1
    html = render_html(result)
    assert "<b>so</b>" not in html and "&lt;b&gt;so&lt;/b&gt;" in html
    assert "deleted_at &lt;set&gt;" in html
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")
    assert 'class="c caught"' in html and 'class="c false-positive"' in html


def test_matrix_command_refuses_a_bad_variants_file_with_exit_3(tmp_path: Path) -> None:
    bad = write(tmp_path, GOOD.replace("ROT-03", "NOPE-1"))
    result = CliRunner().invoke(
        main, ["matrix", "--target", str(PROFILE), "--variants", str(bad), "--out", str(tmp_path)]
    )
    assert result.exit_code == 3
    assert "variants.toml:5" in result.output and "not a check id" in result.output


# -- the real matrix (e2e) ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def real_matrix(tmp_path_factory: pytest.TempPathFactory) -> MatrixResult:
    out = tmp_path_factory.mktemp("matrix")
    result = CliRunner().invoke(
        main,
        [
            "matrix",
            "--target",
            str(PROFILE),
            "--variants",
            str(VARIANTS_FILE),
            "--jobs",
            "2",
            "--out",
            str(out),
            "--json",
            str(out / "matrix.json"),
            "--quiet",
        ],
    )
    assert (out / "matrix.json").exists(), result.output
    assert (out / "detection-matrix.md").exists() and (out / "detection-matrix.html").exists()
    return MatrixResult.model_validate(json.loads((out / "matrix.json").read_text()))


def observed(result: MatrixResult, name: str) -> dict[str, str]:
    found = result.row(name)
    assert found.outcome.harness_error is None, found.outcome.harness_error
    return {c: str(found.status(c)) for c in CHECK_IDS}


@pytest.mark.e2e
@pytest.mark.timeout(2400)
def test_the_clean_server_passes_every_check(real_matrix: MatrixResult) -> None:
    statuses = observed(real_matrix, CLEAN)
    expected = {c: "NOT_APPLICABLE" if c in NOT_APPLICABLE_HERE else "PASS" for c in CHECK_IDS}
    assert statuses == expected


@pytest.mark.e2e
@pytest.mark.timeout(2400)
@pytest.mark.parametrize("name", [v.name for v in VARIANTS])
def test_each_variant_is_caught_by_every_check_it_names(
    real_matrix: MatrixResult, name: str
) -> None:
    variant = next(v for v in VARIANTS if v.name == name)
    statuses = observed(real_matrix, name)
    assert {c: statuses[c] for c in variant.expect} == dict.fromkeys(variant.expect, "FAIL")
    unexplained = {
        c: s
        for c, s in statuses.items()
        if s in ("FAIL", "ERROR") and c not in variant.expect and c not in variant.also
    }
    assert unexplained == {}

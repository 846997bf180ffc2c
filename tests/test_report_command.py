"""``byok-audit report``: one test per documented exit code, waivers and outputs end to end."""

import json

import pytest
from click.testing import CliRunner

from byok_audit.checks.base import Verdict, check
from byok_audit.cli import main
from byok_audit.evaluate import sha256_digest
from byok_audit.formats import FORMATS
from byok_audit.models.finding import Question, Severity, Threat
from tests.formats.sample import CATALOG, sample_bundle, waivers_text

DAY = "1768435200"  # 2026-01-15 UTC, the sample's "today"


@pytest.fixture
def catalog(monkeypatch):
    """Grade saved bundles with the sample catalog instead of the (growing) real one."""
    monkeypatch.setattr("byok_audit.report_command.ALL_CHECKS", CATALOG)
    return CATALOG


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "bundle.json"
    sample_bundle().save(path)
    return path


@pytest.fixture
def waivers(tmp_path):
    path = tmp_path / "waivers.toml"
    path.write_text(waivers_text(sample_bundle()))
    return path


def invoke(*args, day=DAY):
    runner = CliRunner()
    return runner.invoke(main, list(map(str, args)), env={"SOURCE_DATE_EPOCH": day})


def test_exit_1_on_findings_by_default(catalog, saved):
    result = invoke("report", saved)
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("## byok-audit: acme-chat")  # markdown by default
    assert (
        "acme-chat: grade C, score 85.7/100; gate failed (exit 1): FAIL at or above low: RTE-03, LOG-05"
        in result.stderr
    )


def test_exit_0_when_the_gate_passes(catalog, saved, waivers):
    result = invoke("report", saved, "--waivers", waivers, "--fail-on", "high")
    assert result.exit_code == 0, result.output
    assert "grade B (raw C)" in result.stderr
    assert "warning: waiver" in result.stderr and "expired on 2026-01-10" in result.stderr


def test_min_grade(catalog, saved, waivers):
    assert invoke("report", saved, "--waivers", waivers, "--min-grade", "B").exit_code == 0
    below = invoke("report", saved, "--waivers", waivers, "--min-grade", "A-")
    assert below.exit_code == 1
    assert "grade B is below the minimum A-" in below.stderr


def test_exit_2_when_a_mandatory_check_errors(monkeypatch, saved):
    def missing(bundle):
        raise RuntimeError("no database snapshot")

    broken = check(
        id="ENC-99",
        title="needs a snapshot",
        severity=Severity.HIGH,
        threats=[Threat.T1],
        questions=[Question.Q1],
        remediation="",
    )(missing)
    passing = check(
        id="ENC-98",
        title="passes",
        severity=Severity.HIGH,
        threats=[Threat.T1],
        questions=[Question.Q1],
        remediation="",
    )(lambda bundle: Verdict.passed("fine"))
    monkeypatch.setattr("byok_audit.report_command.ALL_CHECKS", (passing, broken))
    result = invoke("report", saved)
    assert result.exit_code == 2, result.output
    assert "grade I" in result.stderr and "ENC-99" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-on", "severe"], "Invalid value for '--fail-on'"),
        (["--min-grade", "I"], "Invalid value for '--min-grade'"),
        (["-o", "pdf:x.pdf"], "unknown format 'pdf'"),
        (["-o", "report.html"], "expected FORMAT:PATH"),
        (["--bogus"], "No such option"),
    ],
)
def test_exit_3_on_usage_errors(catalog, saved, args, message):
    result = invoke("report", saved, *args)
    assert result.exit_code == 3, result.output
    assert message in result.output


def test_exit_3_on_bad_inputs(catalog, tmp_path, saved):
    missing = invoke("report", tmp_path / "nope.json")
    assert (missing.exit_code, "cannot read" in missing.output) == (3, True)
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    assert invoke("report", junk).exit_code == 3
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"hello": "world"}))
    result = invoke("report", wrong)
    assert result.exit_code == 3
    assert "not a valid evidence bundle or result" in result.output
    bad_waivers = tmp_path / "w.toml"
    bad_waivers.write_text('[[waiver]]\ncheck = "LOG-05"\ntarget = "acme-chat"\nowner = "me"\n')
    result = invoke("report", saved, "--waivers", bad_waivers)
    assert result.exit_code == 3
    assert f"{bad_waivers}:1: waiver[1].justification: Field required" in result.output


def test_waiver_for_an_unknown_check_is_a_configuration_error(catalog, tmp_path, saved):
    path = tmp_path / "w.toml"
    path.write_text(
        '[[waiver]]\ncheck = "LOG-99"\ntarget = "acme-chat"\njustification = "j"\n'
        'owner = "o"\nexpires = 2030-01-01\n'
    )
    result = invoke("report", saved, "--waivers", path)
    assert result.exit_code == 3
    assert "'LOG-99' is not a check of this audit" in result.output


def test_writes_every_format_and_records_the_bundle_digest(catalog, saved, waivers, tmp_path):
    outputs = [f"{name}:{tmp_path / 'out' / ('r' + fmt.suffix)}" for name, fmt in FORMATS.items()]
    args = [arg for spec in outputs for arg in ("-o", spec)]
    result = invoke("report", saved, "--waivers", waivers, *args)
    assert result.exit_code == 1, result.output
    for name, fmt in FORMATS.items():
        assert (tmp_path / "out" / ("r" + fmt.suffix)).stat().st_size > 0, name
    data = json.loads((tmp_path / "out" / "r.json").read_text())
    assert data["bundle_digest"] == sha256_digest(saved.read_bytes())
    assert data["waivers_as_of"] == "2026-01-15"


def test_result_json_is_re_gated_not_re_measured(catalog, saved, waivers, tmp_path):
    first = tmp_path / "first.json"
    invoke("report", saved, "--waivers", waivers, "-o", f"json:{first}")
    again = tmp_path / "again.json"
    same_day = invoke("report", first, "-o", f"json:{again}")
    assert same_day.exit_code == 1
    assert again.read_text() == first.read_text()  # same day, same waivers: same result

    later = invoke("report", first, "-o", f"json:{again}", day="1775001600")  # 2026-04-01
    data = json.loads(again.read_text())
    assert later.exit_code == 1
    assert {w["waiver"]["check"]: w["state"] for w in data["waivers"]} == {
        "LOG-05": "expired",
        "ENC-07": "expired",
    }
    assert data["effective"]["grade"] == "C"


def test_result_from_other_criteria_is_refused(tmp_path):
    from tests.formats.sample import sample_result

    path = tmp_path / "old.json"
    path.write_text(sample_result().model_copy(update={"criteria_version": "0"}).model_dump_json())
    result = invoke("report", path)
    assert result.exit_code == 3
    assert "graded under criteria version 0" in result.output


def test_code_attestation_file_answers_q5(catalog, saved, tmp_path):
    statement = tmp_path / "q5.toml"
    statement.write_text('statement = "MIT on GitHub"\nattested_by = "Acme"\n')
    out = tmp_path / "r.json"
    invoke("report", saved, "--code-attestation", statement, "-o", f"json:{out}")
    q5 = json.loads(out.read_text())["questions"][-1]
    assert (q5["question"], q5["answer"]) == ("Q5", "attested")
    statement.write_text('statement = "MIT"\n')
    result = invoke("report", saved, "--code-attestation", statement)
    assert result.exit_code == 3 and "attested_by: Field required" in result.output


def test_real_catalog_grades_a_saved_bundle(saved, tmp_path):
    out = tmp_path / "r.json"
    result = invoke("report", saved, "-o", f"json:{out}")
    assert result.exit_code in (0, 1, 2), result.output
    from byok_audit.checks import ALL_CHECKS

    data = json.loads(out.read_text())
    assert [c["check_id"] for c in data["checks"]] == [c.id for c in ALL_CHECKS]

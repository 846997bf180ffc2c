import hashlib
from datetime import date

from byok_audit import CRITERIA_VERSION
from byok_audit.checks import ALL_CHECKS
from byok_audit.checks.base import Verdict, check
from byok_audit.evaluate import evaluate, evidence_fingerprint, regrade
from byok_audit.models.canary import CanaryTable
from byok_audit.models.finding import EvidenceRef, Question, Severity, Status, Threat
from byok_audit.models.result import Grade
from byok_audit.scoring.gate import ExitCode
from byok_audit.scoring.waivers import parse_waivers
from tests import builders
from tests.formats.sample import CATALOG, sample_bundle, waivers_text


def fake(check_id, evaluate_fn, severity=Severity.HIGH, optional=False):
    return check(
        id=check_id,
        title=f"fake {check_id}",
        severity=severity,
        threats=[Threat.T1],
        questions=[Question.Q1],
        remediation="fix it",
        optional=optional,
    )(evaluate_fn)


def leaks_key(bundle):
    """Reports the key it found, whole: the check layer must redact it."""
    key = bundle.canaries.get("key-alice-1").value
    return Verdict.failed(
        f"found {key}", [EvidenceRef(kind="file", ref="app.log:3", detail=f"key={key}")]
    )


def crashes(bundle):
    raise RuntimeError("boom")


def bundle_with_key():
    table = CanaryTable.fresh()
    table.key("key-alice-1", "alice")
    return builders.bundle(
        canaries=table, errors=["target stderr mentioned " + table.get("master").value]
    )


def test_evaluate_runs_every_check_and_records_metadata():
    bundle = bundle_with_key()
    result = evaluate(
        bundle,
        today=date(2026, 1, 1),
        checks=[fake("A-01", leaks_key, Severity.CRITICAL), fake("B-01", crashes)],
    )
    assert [c.check_id for c in result.checks] == ["A-01", "B-01"]
    assert result.criteria_version == CRITERIA_VERSION
    assert result.run_id == bundle.run_id
    assert result.target.name == "test-target"
    assert result.started.timestamp() == bundle.started
    expected = "sha256:" + hashlib.sha256(bundle.dumps().encode()).hexdigest()
    assert result.bundle_digest == expected
    assert result.check("B-01").status is Status.ERROR
    assert result.raw.grade is Grade.INCOMPLETE
    assert result.gate.exit_code == ExitCode.FINDINGS  # the critical FAIL wins over incomplete


def test_no_canary_survives_into_the_result():
    bundle = bundle_with_key()
    result = evaluate(bundle, today=date(2026, 1, 1), checks=[fake("A-01", leaks_key)])
    text = result.model_dump_json()
    for canary in bundle.canaries.canaries:
        assert canary.value not in text, canary.id
    assert "key:key-alice-1" in result.check("A-01").evidence[0].detail
    assert "master_secret:master" in result.run_errors[0]


def test_evidence_fingerprint_is_stable_across_runs_and_changes_with_the_finding():
    checks = [fake("A-01", leaks_key)]
    first = evaluate(bundle_with_key(), today=date(2026, 1, 1), checks=checks)
    second = evaluate(bundle_with_key(), today=date(2026, 1, 1), checks=checks)  # new canaries
    assert first.check("A-01").evidence_fingerprint == second.check("A-01").evidence_fingerprint

    def other_line(bundle):
        verdict = leaks_key(bundle)
        moved = [e.model_copy(update={"ref": "app.log:9"}) for e in verdict.evidence]
        return Verdict.failed(verdict.summary, moved)

    moved = fake("A-01", other_line).run(bundle_with_key())
    assert evidence_fingerprint(moved) != first.check("A-01").evidence_fingerprint


def test_bundle_digest_can_be_given_and_default_catalog_is_all_checks():
    result = evaluate(builders.bundle(), today=date(2026, 1, 1), bundle_digest="sha256:abc")
    assert result.bundle_digest == "sha256:abc"
    assert [c.check_id for c in result.checks] == [c.id for c in ALL_CHECKS]


def test_regrade_reapplies_waivers_on_a_later_day():
    bundle = sample_bundle()
    waivers = parse_waivers(waivers_text(bundle), "waivers.toml")
    result = evaluate(bundle, today=date(2026, 1, 15), waivers=waivers, checks=CATALOG)
    assert result.check("LOG-05").status is Status.WAIVED
    later = regrade(result, today=date(2026, 4, 1))
    assert later.check("LOG-05").status is Status.FAIL
    assert {w.waiver.check: w.state for w in later.waivers} == {
        "LOG-05": "expired",
        "ENC-07": "expired",
    }
    assert later.effective.grade is Grade.C
    assert later.waivers_as_of == date(2026, 4, 1)
    # measured facts are untouched
    assert later.bundle_digest == result.bundle_digest
    assert [c.raw_status for c in later.checks] == [c.raw_status for c in result.checks]


def test_regrade_with_new_waivers_replaces_the_stored_ones():
    bundle = sample_bundle()
    result = evaluate(
        bundle,
        today=date(2026, 1, 15),
        waivers=parse_waivers(waivers_text(bundle), "waivers.toml"),
        checks=CATALOG,
    )
    cleared = regrade(result, today=date(2026, 1, 15), waivers=[])
    assert cleared.waivers == []
    assert cleared.effective.grade == cleared.raw.grade == Grade.C

"""SARIF output, checked against what GitHub code scanning requires of an upload."""

import json

from byok_audit.formats import sarif
from byok_audit.models.finding import Status
from tests.formats.hostile import hostile


def render(result):
    return json.loads(sarif.render(result))


def test_golden(result, golden):
    golden("scorecard.sarif", sarif.render(result))


def test_github_ingestion_rules(result):
    document = render(result)
    assert document["version"] == "2.1.0"
    assert document["$schema"].endswith("sarif-2.1.0.json")
    (run,) = document["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "byok-audit"
    rules = driver["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
        severity = float(rule["properties"]["security-severity"])
        assert 0.0 < severity <= 10.0
        assert isinstance(rule["properties"]["security-severity"], str)
    for entry in run["results"]:
        assert ids[entry["ruleIndex"]] == entry["ruleId"]
        assert entry["message"]["text"]
        assert entry["level"] in ("error", "warning", "note")
        location = entry["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == "audit/acme-chat.toml"
        assert location["region"]["startLine"] >= 1
        assert entry["partialFingerprints"]["byokEvidence/v1"]
    assert run["automationDetails"]["id"].startswith("byok-audit/acme-chat/")


def test_security_severity_per_catalog_severity(result):
    rules = {r["id"]: r for r in render(result)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["ENC-01"]["properties"]["security-severity"] == "9.0"
    assert rules["ENC-04"]["properties"]["security-severity"] == "7.0"
    assert rules["RTE-03"]["properties"]["security-severity"] == "4.0"
    assert rules["ENC-07"]["properties"]["security-severity"] == "1.0"
    assert "Send one upstream request per prompt" in rules["RTE-03"]["help"]["text"]


def test_results_only_for_fail_warn_and_waived(result):
    results = {r["ruleId"]: r for r in render(result)["runs"][0]["results"]}
    expected = {
        c.check_id for c in result.checks if c.status in (Status.FAIL, Status.WARN, Status.WAIVED)
    }
    assert set(results) == expected == {"RTE-03", "ENC-07", "LOG-05"}
    assert "suppressions" not in results["RTE-03"]
    (suppression,) = results["LOG-05"]["suppressions"]
    assert suppression["kind"] == "external"
    assert suppression["justification"].startswith("Error logs go to a restricted bucket")


def test_artifact_uri_falls_back_and_keeps_relative_paths():
    assert sarif.artifact_uri("profiles/acme.toml") == "profiles/acme.toml"
    assert sarif.artifact_uri("") == "byok-audit.toml"
    assert sarif.artifact_uri("/srv/acme.toml") == "file:///srv/acme.toml"
    assert sarif.artifact_uri("C:\\audit\\acme.toml") == "file:///C:/audit/acme.toml"


def test_hostile_text_is_json_data(result):
    results = {r["ruleId"]: r for r in render(hostile(result))["runs"][0]["results"]}
    assert "<script>alert(1)</script>" in results["RTE-03"]["message"]["text"]

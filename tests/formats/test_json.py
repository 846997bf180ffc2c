import json

from byok_audit.formats import json as json_format
from byok_audit.models.result import AuditResult
from tests.formats.conftest import REPO, compare_text

SCHEMA = REPO / "docs" / "result.schema.json"


def schema_text() -> str:
    return json.dumps(AuditResult.model_json_schema(mode="serialization"), indent=2) + "\n"


def test_golden(result, golden):
    golden("scorecard.json", json_format.render(result))


def test_lossless_round_trip(result):
    text = json_format.render(result)
    assert AuditResult.model_validate_json(text) == result
    assert json_format.render(AuditResult.model_validate_json(text)) == text


def test_carries_versions_grades_and_gate(result):
    data = json.loads(json_format.render(result))
    assert data["document"] == "byok-audit-result"
    assert data["criteria_version"] == "1"
    assert (data["raw"]["grade"], data["effective"]["grade"]) == ("C", "B")
    assert data["gate"] == {
        "policy": {"fail_on": "low", "min_grade": None},
        "passed": False,
        "exit_code": 1,
        "reasons": ["FAIL at or above low: RTE-03"],
    }


def test_checked_in_schema_is_current(update_golden):
    """docs/result.schema.json is generated from AuditResult; rewrite with --update-golden."""
    compare_text(SCHEMA, schema_text(), update_golden)

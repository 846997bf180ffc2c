from xml.etree import ElementTree as ET

from byok_audit.formats import junit
from tests.formats.hostile import PAYLOAD, hostile


def parse(text):
    return ET.fromstring(text.encode())  # noqa: S314 - our own output


def cases(result):
    suite = parse(junit.render(result)).find("testsuite")
    return {case.get("name").split()[0]: case for case in suite.iter("testcase")}


def test_golden(result, golden):
    golden("scorecard.xml", junit.render(result))


def test_one_testcase_per_check_with_the_right_outcome(result):
    by_id = cases(result)
    assert list(by_id) == [c.check_id for c in result.checks]
    assert by_id["RTE-03"].find("failure").get("type") == "medium"
    assert by_id["RTE-05"].find("error") is not None
    assert "declared out of scope" in by_id["LOG-06"].find("skipped").get("message")
    waived = by_id["LOG-05"].find("skipped").get("message")
    assert waived.startswith("waived (FAIL): Error logs go to a restricted bucket")
    assert "platform-security@acme.example" in waived and "2026-03-31" in waived
    assert list(by_id["ENC-01"]) == []  # a pass is a bare testcase


def test_suite_counts(result):
    suite = parse(junit.render(result)).find("testsuite")
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == (
        "13",
        "1",
        "1",
        "2",
    )


def test_hostile_text_stays_well_formed_xml(result):
    case = cases(hostile(result))["RTE-03"]
    message = case.find("failure").get("message")
    assert message == PAYLOAD.replace("\x07", "\ufffd")

"""JUnit XML for CI dashboards: one testcase per check.

FAIL is a ``<failure>``, ERROR an ``<error>``, NOT_APPLICABLE and WAIVED are ``<skipped>`` with the reason
(the waiver's justification, owner and expiry). WARN passes, with the warning in ``<system-out>``.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from byok_audit.models.finding import Status
from byok_audit.models.result import AuditResult, CheckOutcome

NAME = "junit"
SUFFIX = ".xml"

# Characters XML 1.0 cannot carry at all; evidence from logs may contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _details(check: CheckOutcome) -> str:
    lines = [check.summary]
    for ref in check.evidence:
        lines.append(f"[{ref.kind}] {ref.ref}" + (f"\n    {ref.detail}" if ref.detail else ""))
    if check.remediation and check.status is Status.FAIL:
        lines.append(f"Fix: {check.remediation}")
    lines.append(f"evidence fingerprint: {check.evidence_fingerprint}")
    return _clean("\n".join(lines))


def _testcase(result: AuditResult, check: CheckOutcome) -> ET.Element:
    family = check.check_id.split("-")[0]
    case = ET.Element(
        "testcase",
        {
            "classname": f"byok-audit.{family}",
            "name": _clean(f"{check.check_id} {check.title}"),
            "time": "0",
        },
    )
    message = _clean(check.summary)
    if check.status is Status.FAIL:
        node = ET.SubElement(case, "failure", {"message": message, "type": str(check.severity)})
        node.text = _details(check)
    elif check.status is Status.ERROR:
        node = ET.SubElement(case, "error", {"message": message, "type": "ERROR"})
        node.text = _details(check)
    elif check.status is Status.NOT_APPLICABLE:
        ET.SubElement(case, "skipped", {"message": message})
    elif check.status is Status.WAIVED and check.waiver is not None:
        waiver = result.waiver_at(check.waiver).waiver
        reason = (
            f"waived ({check.raw_status}): {waiver.justification} "
            f"(owner {waiver.owner}, expires {waiver.expires.isoformat()}, {check.waiver})"
        )
        ET.SubElement(case, "skipped", {"message": _clean(reason)})
    elif check.status is Status.WARN:
        ET.SubElement(case, "system-out").text = _details(check)
    return case


def render(result: AuditResult) -> str:
    cases = [_testcase(result, c) for c in result.checks]
    counts = {
        "tests": str(len(result.checks)),
        "failures": str(result.count(Status.FAIL)),
        "errors": str(result.count(Status.ERROR)),
        "skipped": str(result.count(Status.NOT_APPLICABLE) + result.count(Status.WAIVED)),
    }
    root = ET.Element("testsuites", {"name": "byok-audit", **counts})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": _clean(f"byok-audit: {result.target.name}"),
            **counts,
            "timestamp": result.started.strftime("%Y-%m-%dT%H:%M:%S"),
            "time": f"{(result.ended - result.started).total_seconds():.3f}",
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("tool_version", result.tool_version),
        ("criteria_version", result.criteria_version),
        ("run_id", result.run_id),
        ("grade", str(result.effective.grade)),
        ("raw_grade", str(result.raw.grade)),
        ("score", "" if result.effective.score is None else f"{result.effective.score:g}"),
        ("gate", "passed" if result.gate.passed else "failed"),
        ("bundle_digest", result.bundle_digest),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    suite.extend(cases)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

"""Scan results as text (for people), JSON (a list of Hit) and SARIF 2.1.0 (for code-scanning UIs).

None of them ever holds a secret: hits carry fingerprints and redacted excerpts only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

from pydantic import TypeAdapter

from byok_audit import __version__
from byok_audit.scan.hits import Hit
from byok_audit.scan.needles import LAYERS, describe_form, split_layers

FORMATS = ("text", "json", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_HITS = TypeAdapter(list[Hit])
_LAYER = "(?:" + "|".join(LAYERS) + ")"
_MEMBER = re.compile(rf"(?:!{_LAYER}(?:\+{_LAYER})*@\d+)+$")

_ROLES = {
    "key": "a provider API key canary",
    "oauth_token": "an OAuth token canary",
    "prompt": "the prompt canary",
    "response": "the response canary",
    "master_secret": "the master secret",
}


def role_text(role: str) -> str:
    if role.startswith("shape:"):
        return f"a real-shaped {role.removeprefix('shape:')} key"
    return _ROLES.get(role, f"a {role} secret")


def render_text(hits: Sequence[Hit], *, summary: str) -> str:
    lines = [
        f"{hit.source}:{hit.line}: {hit.label} as {hit.form} at byte {hit.offset}: {hit.excerpt}"
        for hit in hits
    ]
    lines.append(summary)
    return "\n".join(lines) + "\n"


def render_json(hits: Sequence[Hit]) -> str:
    return _HITS.dump_json(list(hits), indent=2).decode() + "\n"


def artifact_uri(source: str) -> str:
    """A SARIF artifact URI for a hit's source: the file itself, without an embedded-blob suffix."""
    path = _MEMBER.sub("", source)
    if PureWindowsPath(path).is_absolute() and not path.startswith("/"):
        return PureWindowsPath(path).as_uri()
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute():
        return posix.as_uri()
    return quote(posix.as_posix(), safe="/")


def _rule(role: str, form: str) -> dict[str, object]:
    what = role_text(role)
    how = describe_form(form)
    return {
        "id": f"{role}/{form}",
        "name": f"{role} as {form}".replace(":", " ").title().replace(" ", ""),
        "shortDescription": {"text": f"{what[0].upper()}{what[1:]} found as {form}"},
        "fullDescription": {
            "text": f"{what[0].upper()}{what[1:]} appears in the scanned data ({how})."
        },
        "help": {
            "text": "Treat the secret as exposed: rotate it, remove it from the file or store where it was "
            "found, and find the code path that wrote it (a debug log, a telemetry SDK, an error handler)."
        },
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", "secret"], "security-severity": "9.0"},
    }


def render_sarif(hits: Sequence[Hit], *, warnings: Sequence[str] = ()) -> str:
    rule_ids: dict[str, int] = {}
    rules: list[dict[str, object]] = []
    results = []
    for hit in hits:
        rule_id = f"{hit.role}/{hit.form}"
        if rule_id not in rule_ids:
            rule_ids[rule_id] = len(rules)
            rules.append(_rule(hit.role, hit.form))
        region: dict[str, object] = {"startLine": hit.line, "snippet": {"text": hit.excerpt}}
        layered = bool(split_layers(hit.form)[0]) or hit.form == "sse-reassembled"
        if not layered and not _MEMBER.search(hit.source):
            region.update(byteOffset=hit.offset, byteLength=hit.length)
        where = f" (inside {hit.source})" if _MEMBER.search(hit.source) else ""
        results.append(
            {
                "ruleId": rule_id,
                "ruleIndex": rule_ids[rule_id],
                "level": "error",
                "message": {
                    "text": f"{hit.label} found as {hit.form} at byte {hit.offset}{where}: {hit.excerpt}"
                },
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": artifact_uri(hit.source)},
                            "region": region,
                        }
                    }
                ],
                "partialFingerprints": {
                    "byokAuditHit/v1": f"{hit.fingerprint}:{hit.form}:{hit.source}:{hit.offset}"
                },
                "properties": {
                    "form": hit.form,
                    "fingerprint": hit.fingerprint,
                    "offset": hit.offset,
                },
            }
        )
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "byok-audit scan",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [
                            {"level": "warning", "message": {"text": text}} for text in warnings
                        ],
                    }
                ],
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"

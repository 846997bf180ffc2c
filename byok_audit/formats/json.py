"""The canonical, lossless result: the AuditResult as JSON (schema in ``docs/result.schema.json``)."""

from __future__ import annotations

from byok_audit.models.result import AuditResult

NAME = "json"
SUFFIX = ".json"


def render(result: AuditResult) -> str:
    return result.model_dump_json(indent=2) + "\n"

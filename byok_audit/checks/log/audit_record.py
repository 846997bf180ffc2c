"""LOG-06: a metadata audit record exists per request."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import performed_steps, plural, same_model, step_ref
from byok_audit.models.evidence import CapturedFile, EvidenceBundle, StepRecord
from byok_audit.models.finding import EvidenceRef, Question, Severity

_LOGFMT_PAIR = re.compile(r'([A-Za-z_@][\w.@-]*)=("(?:[^"\\]|\\.)*"|[^\s,]*)')
_INTEGER = re.compile(r"-?\d+")
_FIELDS = {
    "time": re.compile(r"(^|[_.@])(time|timestamp|ts|asctime|created|datetime|date)$"),
    "user": re.compile(r"user|account|tenant|(^|[_.])uid$"),
    "latency": re.compile(r"latency|duration|elapsed|took|response_time|(^|[_.])ms$"),
}
_STATUS = re.compile(r"(^|[_.])(status|outcome|result)(_?code)?$")
_MODEL = re.compile(r"model")
#: Seconds a record's time may fall outside its step's window: log clocks round, and a server may
#: write the record just after the client read the last byte.
SLACK = 0.25
_TOKENS = re.compile(r"token")


@dataclass(frozen=True)
class Record:
    """One structured log line, its keys flattened (``usage.input_tokens``) and lowercased."""

    file: str
    line: int
    fields: dict[str, object]

    def _values(self, pattern: re.Pattern[str]) -> list[object]:
        return [v for k, v in self.fields.items() if pattern.search(k)]

    def models(self) -> set[str]:
        return {v for v in self._values(_MODEL) if isinstance(v, str)}

    @property
    def has_tokens(self) -> bool:
        return any(isinstance(v, int) and not isinstance(v, bool) for v in self._values(_TOKENS))

    @property
    def has_status(self) -> bool:
        return any(v not in (None, "") for v in self._values(_STATUS))

    def missing(self) -> list[str]:
        return [name for name, pattern in _FIELDS.items() if not self._values(pattern)]

    def timestamp(self) -> float | None:
        """The record's time as a Unix timestamp, when a time field holds ISO 8601 or epoch seconds."""
        for value in self._values(_FIELDS["time"]):
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 1e9:
                return float(value) / (1000.0 if value > 1e12 else 1.0)
            if isinstance(value, str):
                try:
                    return datetime.fromisoformat(value).timestamp()
                except ValueError:
                    continue
        return None

    def serves(self, step: StepRecord) -> bool:
        """Model, token counts and status present; the model (when the step named one) matches; a
        record with a readable time was written during the step (give or take :data:`SLACK`)."""
        if not (self.has_tokens and self.has_status):
            return False
        when = self.timestamp()
        if when is not None and not step.started - SLACK <= when <= step.ended + SLACK:
            return False
        model = step.params.get("model")
        model = model if isinstance(model, str) else None
        if model is None:
            return bool(self.models())
        return any(same_model(model, m) for m in self.models())


def _flatten(value: dict[str, object], prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, item in value.items():
        name = f"{prefix}{key}".lower()
        if isinstance(item, dict):
            flat.update(_flatten(item, name + "."))
        else:
            flat[name] = item
    return flat


def _parse(line: str) -> dict[str, object] | None:
    """A JSON object (possibly after a plain-text prefix) or at least three ``key=value`` pairs."""
    start = line.find("{")
    if start >= 0:
        try:
            value, _ = json.JSONDecoder().raw_decode(line, start)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return _flatten(value)
    pairs = _LOGFMT_PAIR.findall(line)
    if len(pairs) < 3:
        return None
    fields: dict[str, object] = {}
    for key, raw in pairs:
        text = raw[1:-1] if raw.startswith('"') else raw
        fields[key.lower()] = int(text) if _INTEGER.fullmatch(text) else text
    return fields


def records(file: CapturedFile) -> Iterator[Record]:
    text = file.content.decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        fields = _parse(line)
        if fields:
            yield Record(file.name, number, fields)


def _match(steps: list[StepRecord], found: list[Record]) -> dict[int, Record]:
    """Greedy in-order matching: each step takes the next unused record that serves it."""
    matched: dict[int, Record] = {}
    position = 0
    for step in steps:
        for index in range(position, len(found)):
            if found[index].serves(step):
                matched[step.index] = found[index]
                position = index + 1
                break
    return matched


@check(
    id="LOG-06",
    title="A metadata audit record exists per request",
    severity=Severity.LOW,
    threats=[],
    questions=[Question.Q3],
    remediation=(
        "Write one structured record (JSON line or key=value) per model request with time, user, "
        "model, token counts, latency and status, and nothing else from the request."
    ),
)
def audit_record(bundle: EvidenceBundle) -> Verdict:
    """Keeping prompts out of logs must not mean keeping nothing: an operator still needs who called
    which model, when, for how many tokens, with what result. Every captured log source is parsed line
    by line: a JSON object (also after a text prefix such as ``INFO app:``) or a line with at least
    three ``key=value`` pairs is a structured record. A record serves a prompt step when it has a field
    whose name contains ``model`` equal to the step's model (or its dated snapshot), an integer field
    whose name contains ``token``, and a status/outcome/result field; when the record carries a readable
    time (ISO 8601 or epoch) it must fall inside the step's window, so a refused request's record is
    never taken for a completed one's. Completed (``ok``) prompt steps are matched in order, each to the
    next unused serving record of one source (the source matching most steps is judged). Every step matched: PASS, or WARN when the records lack time, user or latency
    fields. Any step unmatched: FAIL; logs with no structured line at all: FAIL, with that explanation.
    """
    sources = [f for f in bundle.files if not f.missing]
    if not sources:
        raise EvidenceMissing(
            "the profile declared no log sources (no captured log, stdout or stderr)"
        )
    steps = [s for s in performed_steps(bundle, "prompt") if s.outcome == "ok"]
    if not steps:
        raise EvidenceMissing("no prompt step completed, so no request needed an audit record")
    parsed = {f.name: list(records(f)) for f in sources}
    lines = sum(f.content.count(b"\n") for f in sources)
    if not any(parsed.values()):
        return Verdict.failed(
            f"no structured audit records: none of {lines} lines in {plural(len(sources), 'log source')} "
            "is a JSON object or key=value record, so no request can be attributed"
        )
    best_name, best = max(
        ((name, _match(steps, found)) for name, found in parsed.items()), key=lambda p: len(p[1])
    )
    unmatched = [s for s in steps if s.index not in best]
    if unmatched:
        return Verdict.failed(
            f"{len(unmatched)} of {len(steps)} completed prompt steps have no audit record with "
            f"model, token counts and status (best source: {best_name}, {len(best)} matched)",
            [step_ref(s, "no matching audit record") for s in unmatched],
        )
    refs = [
        EvidenceRef(kind="file", ref=f"{r.file}:{r.line}", detail=f"record for step {index}")
        for index, r in best.items()
    ]
    missing = sorted({field for r in best.values() for field in r.missing()})
    if missing:
        return Verdict.warn(
            f"all {len(steps)} completed prompt steps have an audit record in {best_name}, but "
            f"records lack: {', '.join(missing)}",
            refs,
        )
    return Verdict.passed(
        f"all {len(steps)} completed prompt steps have an audit record in {best_name} "
        "(time, user, model, tokens, latency, status)",
        refs,
    )

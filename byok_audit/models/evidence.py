"""The evidence bundle: everything an audit observed, and nothing it concluded.

Scenarios and the harness fill it; checks read it (and do no I/O); a saved bundle can be re-graded later
with ``byok-audit report``. Saved bundles keep canaries only in their canary table (hex-sealed): every
other occurrence of a canary's raw value is replaced by a ``⟦canary:ID⟧`` token on save and restored on
load, so a committed bundle never trips a secret scanner yet re-checks exactly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl

from pydantic import Field, JsonValue

from byok_audit.models.base import Blob, Strict
from byok_audit.models.canary import CanaryTable

SCHEMA_VERSION = 1

Headers = list[tuple[str, str]]


def header_values(headers: Headers, name: str) -> list[str]:
    """All values of a header, matched case-insensitively (clients differ in case)."""
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


class StreamMessage(Strict):
    """One WebSocket/TCP/UDP message inside an exchange."""

    from_client: bool
    content: Blob
    timestamp: float


class Exchange(Strict):
    """One attempt by the target to talk to the outside world, as the proxy saw it.

    ``host`` is the CONNECT/request target, ``sni`` the TLS server name and ``host_header`` the HTTP Host:
    the three can differ (domain fronting), so all are kept. Bodies are the bytes on the wire (still
    compressed when Content-Encoding says so).

    ``via`` says how it reached the harness: ``proxy`` (sent to the proxy the target was told about) or
    ``tun`` (caught by sealed egress: it went around the proxy, straight at an address). A ``tun``
    exchange's ``host`` is the address it was sent to; when that address came from the harness's own
    DNS answer, ``resolved_name`` is the name the target had looked up. A ``dns`` exchange is one query:
    ``host`` the name server, ``method`` the record type, ``path`` the name asked for, ``response_body``
    the answer given.
    """

    id: int
    kind: Literal["http", "connect", "tls_failed", "tcp", "udp", "dns", "blocked"]
    started: float
    ended: float | None = None
    client_addr: str | None = None
    client_pid: int | None = None
    scheme: str = ""
    host: str = ""
    sni: str | None = None
    host_header: str | None = None
    port: int = 0
    tls: bool = False
    method: str = ""
    path: str = ""
    query: str = ""
    http_version: str = ""
    request_headers: Headers = []
    request_body: Blob = b""
    response_status: int | None = None
    response_headers: Headers = []
    response_body: Blob = b""
    answered_by: Literal["mock_provider", "sink", "blocked", "none"] = "none"
    fault: str | None = None
    error: str | None = None
    messages: list[StreamMessage] = []
    via: Literal["proxy", "tun"] = "proxy"
    resolved_name: str | None = None

    def request_header(self, name: str) -> str | None:
        values = header_values(self.request_headers, name)
        return values[0] if values else None

    @property
    def hosts(self) -> set[str]:
        """Every name this exchange was addressed to (CONNECT host, SNI, Host header), lowercased; an
        address the harness's DNS gave out counts as the name it was given for."""
        host = self.resolved_name or self.host
        names = {host, self.sni or "", (self.host_header or "").split(":")[0]}
        return {n.lower() for n in names if n}

    @property
    def query_params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    @property
    def endpoint(self) -> str:
        """``METHOD /path`` as used by endpoint allow-lists."""
        return f"{self.method} {self.path}"


class HttpCall(Strict):
    """A request the audit driver made to the target's own API, and what came back."""

    method: str
    url: str
    request_headers: Headers = []
    request_body: Blob = b""
    status: int | None = None
    response_headers: Headers = []
    response_body: Blob = b""
    error: str | None = None
    elapsed: float = 0.0


class StepRecord(Strict):
    """What one scenario step did. ``exchange_ids`` are the outbound exchanges seen while it ran."""

    index: int
    scenario: str
    action: str
    user: str | None = None
    params: dict[str, JsonValue] = {}
    started: float
    ended: float
    calls: list[HttpCall] = []
    exchange_ids: list[int] = []
    outcome: Literal["ok", "refused", "error"] = "ok"
    note: str = ""
    data: dict[str, JsonValue] = {}


class CapturedFile(Strict):
    """A log file, the target's stdout/stderr, or another watched file, read at the end of the run."""

    name: str
    kind: Literal["log", "stdout", "stderr", "watched"]
    path: str
    content: Blob = b""
    missing: bool = False


class DbFile(Strict):
    """Raw bytes of one database file (the main file, ``-wal`` or ``-journal``)."""

    name: str
    content: Blob


DbValue = int | float | None | Blob


class DbTable(Strict):
    name: str
    columns: list[str]
    rows: list[list[DbValue]] = []


class DbSnapshot(Strict):
    """The database at one moment: a logical dump (SQL text and rows) and, for SQLite, its raw files."""

    label: str
    step_index: int
    taken: float
    engine: Literal["sqlite", "postgresql"]
    logical_dump: str = ""
    tables: list[DbTable] = []
    raw_files: list[DbFile] = []
    raw_unavailable_reason: str | None = None
    error: str | None = None

    def table(self, name: str) -> DbTable | None:
        return next((t for t in self.tables if t.name == name), None)


class TargetFacts(Strict):
    """What the profile declared about the target, as the checks need it."""

    name: str
    profile_path: str
    provider_hosts: list[str]
    allowed_endpoints: list[str]
    display_suffix_len: int = 4
    aggregator_hosts: list[str] = []
    #: Secrets-manager hosts (Vault, AWS Secrets Manager) the platform keeps keys in: a key may go there
    #: over TLS while it is stored, read, used or deleted.
    key_store_hosts: list[str] = []
    db_engine: Literal["sqlite", "postgresql"] | None = None
    key_table: str | None = None
    key_column: str | None = None
    models: list[str] = []
    out_of_scope: dict[str, str] = {}
    #: True when the profile handed the harness-made master secret to the target (``{master_secret}``).
    master_secret_set: bool = False


class ProcessRecord(Strict):
    command: list[str]
    pid: int | None = None
    started: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    crashed: bool = False
    restarts: int = 0


class HarnessInfo(Strict):
    engine: str
    listen: str = ""
    #: True only when the seal was verified in force at the start and at the end of the run.
    sealed_egress: bool = False
    #: How egress was sealed and verified (empty when it was not).
    seal: str = ""
    errors: list[str] = []


_TOKEN = re.compile(r"⟦canary:([^⟧]+)⟧")


class EvidenceBundle(Strict):
    """Everything one audit run observed."""

    schema_version: Literal[1] = SCHEMA_VERSION
    tool_version: str
    criteria_version: str
    run_id: str
    started: float
    ended: float
    target: TargetFacts
    scenarios: list[str] = []
    canaries: CanaryTable = Field(default_factory=CanaryTable)
    exchanges: list[Exchange] = []
    steps: list[StepRecord] = []
    files: list[CapturedFile] = []
    db_snapshots: list[DbSnapshot] = []
    process: ProcessRecord | None = None
    harness: HarnessInfo
    errors: list[str] = []

    def exchange(self, exchange_id: int) -> Exchange:
        for exchange in self.exchanges:
            if exchange.id == exchange_id:
                return exchange
        raise KeyError(exchange_id)

    def steps_of(self, action: str, scenario: str | None = None) -> list[StepRecord]:
        return [
            s
            for s in self.steps
            if s.action == action and (scenario is None or s.scenario == scenario)
        ]

    def exchanges_of(self, step: StepRecord) -> list[Exchange]:
        wanted = set(step.exchange_ids)
        return [e for e in self.exchanges if e.id in wanted]

    def snapshot(self, label: str) -> DbSnapshot | None:
        return next((s for s in self.db_snapshots if s.label == label), None)

    # -- persistence ------------------------------------------------------------------------------

    def dumps(self) -> str:
        """JSON text with every raw canary value outside the canary table replaced by a token."""
        text = json.dumps(self.model_dump(mode="json", exclude={"canaries"}), ensure_ascii=False)
        for canary in sorted(self.canaries.canaries, key=lambda c: -len(c.value)):
            text = text.replace(canary.value, f"⟦canary:{canary.id}⟧")
        sealed = json.loads(text)
        sealed["canaries"] = self.canaries.model_dump(mode="json")
        return json.dumps(sealed, indent=1, ensure_ascii=False)

    @classmethod
    def loads(cls, text: str) -> EvidenceBundle:
        """Parse a saved bundle, restoring canary tokens to their values."""
        data = json.loads(text)
        table = CanaryTable.model_validate(data.pop("canaries", {}))
        values = {c.id: c.value for c in table.canaries}

        def restore(match: re.Match[str]) -> str:
            try:
                return values[match.group(1)]
            except KeyError:
                raise ValueError(f"bundle refers to unknown canary {match.group(1)!r}") from None

        restored = json.loads(_TOKEN.sub(restore, json.dumps(data, ensure_ascii=False)))
        return cls.model_validate({**restored, "canaries": table})

    def save(self, path: Path) -> None:
        path.write_text(self.dumps(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> EvidenceBundle:
        return cls.loads(path.read_text(encoding="utf-8"))

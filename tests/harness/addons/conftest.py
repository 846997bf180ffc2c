"""Flows built with mitmproxy's own test helpers: addon logic without sockets."""

from __future__ import annotations

from pathlib import Path

import pytest
from mitmproxy import http
from mitmproxy.test import tflow, tutils

from byok_audit.harness.control import EXCHANGES_FILE
from byok_audit.harness.journal import Journal, read_journal


def make_flow(
    host: str = "api.anthropic.com",
    method: str = "POST",
    path: str = "/v1/messages",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    scheme: str = "https",
    port: int = 443,
) -> http.HTTPFlow:
    request = tutils.treq(
        host=host,
        port=port,
        scheme=scheme.encode(),
        method=method.encode(),
        path=path.encode(),
        headers=http.Headers([(k.encode(), v.encode()) for k, v in headers or []]),
        content=body,
    )
    flow = tflow.tflow(req=request)
    flow.client_conn.sni = host if scheme == "https" else None
    flow.client_conn.tls = scheme == "https"
    if scheme != "https":
        flow.client_conn.timestamp_tls_setup = None
    return flow


class JournalFile:
    def __init__(self, run_dir: Path) -> None:
        self.journal = Journal(run_dir / EXCHANGES_FILE)
        self.path = run_dir / EXCHANGES_FILE

    def exchanges(self):
        return read_journal(self.path)


@pytest.fixture
def journal(tmp_path: Path) -> JournalFile:
    return JournalFile(tmp_path)

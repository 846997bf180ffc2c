"""Blocker: the safety net. Every upstream connection attempt is refused and recorded.

With the mock provider and the sink answering every HTTP request this never fires; it catches what they
cannot answer (raw TCP through a CONNECT tunnel, anything a new mitmproxy layer might open), so the
proxy never reaches the network.
"""

from __future__ import annotations

import time

from mitmproxy.proxy import server_hooks

from byok_audit.harness.addons.recorder import BLOCKED_PREFIX
from byok_audit.harness.journal import Journal


class Blocker:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.attempts = 0

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        self.attempts += 1
        host, port = data.server.address or ("", 0)
        data.server.error = f"{BLOCKED_PREFIX}: no upstream connections ({host}:{port})"
        peer = data.client.peername
        self.journal.write(
            kind="blocked",
            started=time.time(),
            ended=time.time(),
            client_addr=f"{peer[0]}:{peer[1]}" if peer else None,
            sni=data.client.sni,
            host=str(host),
            port=int(port),
            answered_by="blocked",
            error=data.server.error,
        )

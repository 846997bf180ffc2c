"""Blocker: the safety net. Every upstream connection attempt is refused and recorded.

With the mock provider and the sink answering every HTTP request this never fires; it catches what they
cannot answer (raw TCP through a CONNECT tunnel, anything a new mitmproxy layer might open), so the
proxy never reaches the network. The one exception is the seal sink's discard servers on loopback
(``allowed``), where raw TCP/UDP caught by sealed egress is sent to be read and dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mitmproxy.proxy import server_hooks
from mitmproxy.proxy.mode_specs import TunMode

from byok_audit.harness.addons.recorder import BLOCKED_PREFIX
from byok_audit.harness.journal import Journal


class Blocker:
    def __init__(
        self, journal: Journal, allowed: Callable[[tuple[str, int] | None], bool] | None = None
    ) -> None:
        self.journal = journal
        self.allowed = allowed
        self.attempts = 0

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        if self.allowed is not None and self.allowed(data.server.address):
            return
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
            via="tun" if isinstance(data.client.proxy_mode, TunMode) else "proxy",
        )

"""Ready: tells the parent the proxy is listening, and on which ephemeral port (``ready.json``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mitmproxy import ctx

from byok_audit.harness.control import READY_FILE


class Ready:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def running(self) -> None:
        addrs = ctx.master.addons.get("proxyserver").listen_addrs()
        tmp = self.run_dir / f".{READY_FILE}.tmp"
        tmp.write_text(json.dumps({"pid": os.getpid(), "listen": [list(a[:2]) for a in addrs]}))
        os.replace(tmp, self.run_dir / READY_FILE)

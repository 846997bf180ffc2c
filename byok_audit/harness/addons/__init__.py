"""The proxy's addons, in the order mitmproxy runs their hooks. Add a new one to :func:`build_addons`."""

from __future__ import annotations

from pathlib import Path

from byok_audit.harness.addons.blocker import Blocker
from byok_audit.harness.addons.mock_provider import MockProvider
from byok_audit.harness.addons.ready import Ready
from byok_audit.harness.addons.recorder import Recorder
from byok_audit.harness.addons.sink import Sink
from byok_audit.harness.control import EXCHANGES_FILE, ControlReader
from byok_audit.harness.journal import Journal


def build_addons(run_dir: Path) -> list[object]:
    """Recorder before the answerers (it sees every request as sent), sink after the mock (fallback)."""
    journal = Journal(run_dir / EXCHANGES_FILE)
    control = ControlReader(run_dir)
    return [
        Ready(run_dir),
        Recorder(journal, control),
        MockProvider(control),
        Sink(),
        Blocker(journal),
    ]

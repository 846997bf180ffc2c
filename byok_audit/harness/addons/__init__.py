"""The proxy's addons, in the order mitmproxy runs their hooks. Add a new one to :func:`build_addons`."""

from __future__ import annotations

from pathlib import Path

from byok_audit.harness.addons.blocker import Blocker
from byok_audit.harness.addons.fake_dns import FakeDns, FakeNames
from byok_audit.harness.addons.mock_provider import MockProvider
from byok_audit.harness.addons.ready import Ready
from byok_audit.harness.addons.recorder import Recorder
from byok_audit.harness.addons.seal_sink import SealSink
from byok_audit.harness.addons.sink import Sink
from byok_audit.harness.control import EXCHANGES_FILE, ControlReader
from byok_audit.harness.journal import Journal


def build_addons(run_dir: Path) -> list[object]:
    """Seal sink before Ready (it listens before the proxy is announced), fake DNS before the rest
    (it answers the target's own queries), recorder before the answerers (it sees every request as
    sent), sink after the mock (fallback), blocker last."""
    journal = Journal(run_dir / EXCHANGES_FILE)
    control = ControlReader(run_dir)
    names = FakeNames()
    seal_sink = SealSink()
    return [
        seal_sink,
        Ready(run_dir),
        FakeDns(journal, names),
        Recorder(journal, control, names),
        MockProvider(control),
        Sink(),
        Blocker(journal, seal_sink.allowed),
    ]

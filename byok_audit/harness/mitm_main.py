"""``python -m byok_audit.harness.mitm_main --run-dir DIR [mitmdump options]``: the proxy child process.

This is mitmdump (same command line, same runner, same signal handling) with one difference: our addons
are registered *before* mitmproxy's defaults. ``mitmdump -s`` would load them through the ScriptLoader,
after Block, Proxyserver and DnsResolver, so a default addon could act on a flow before we record or
answer it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mitmproxy import addons, master, options
from mitmproxy.addons import errorcheck, keepserving, readfile
from mitmproxy.tools import cmdline
from mitmproxy.tools.main import run

from byok_audit.harness.addons import build_addons


def _audit_master(run_dir: Path) -> type[master.Master]:
    class AuditDumpMaster(master.Master):
        def __init__(self, opts: options.Options) -> None:
            super().__init__(opts, with_termlog=True)
            self.addons.add(*build_addons(run_dir))
            self.addons.add(*addons.default_addons())
            self.addons.add(
                keepserving.KeepServing(), readfile.ReadFileStdin(), errorcheck.ErrorCheck()
            )

    return AuditDumpMaster


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] != "--run-dir":
        sys.exit("usage: python -m byok_audit.harness.mitm_main --run-dir DIR [mitmdump options]")
    run(_audit_master(Path(argv[1])), cmdline.mitmdump, argv[2:])


if __name__ == "__main__":
    main(sys.argv[1:])

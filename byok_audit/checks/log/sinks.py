"""The places a log leak lands: captured log files, stdout/stderr, watched files, and every request
the target sent to a non-provider host (telemetry, error reporting, analytics). Keys sent to a declared
key store while a key was handled are where they belong (:func:`~byok_audit.checks.common.leaked`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from byok_audit.checks.base import EvidenceMissing
from byok_audit.checks.common import (
    exchange_ref,
    file_ref,
    hit_detail,
    hosts_of,
    leaked,
    non_provider,
    plural,
    size,
    step_owners,
)
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef
from byok_audit.scan import Scanner


@dataclass
class SinkScan:
    """What a leak scan of the sinks examined and found."""

    files: int = 0
    bytes: int = 0
    exchanges: int = 0
    hosts: list[str] = field(default_factory=list)
    leaks: list[EvidenceRef] = field(default_factory=list)
    leaked_exchanges: set[int] = field(default_factory=set)

    def examined(self) -> str:
        empty = ": every one was empty" if self.files and not self.bytes else ""
        return (
            f"scanned {plural(self.files, 'log source')} ({size(self.bytes)}{empty}) and "
            f"{plural(self.exchanges, 'non-provider exchange')} to {plural(len(self.hosts), 'host')}"
        )


def scan_sinks(bundle: EvidenceBundle, scan: Scanner) -> SinkScan:
    """Scan every captured file and every non-provider request.

    ERROR when no log source was declared, or when one the profile declared was not found: a scan
    that skipped the log it was told to read proves nothing about it.
    """
    if not bundle.files:
        raise EvidenceMissing("no log source was captured: the profile declares none")
    missing = [f.name for f in bundle.files if f.missing]
    if missing:
        raise EvidenceMissing(
            f"log sources declared but not found: {', '.join(missing)} (nothing of them was scanned)"
        )
    sources = bundle.files
    result = SinkScan(files=len(sources), bytes=sum(len(f.content) for f in sources))
    for file in sources:
        result.leaks += [file_ref(bundle, file, hit) for hit in scan.scan_captured(file)]
    others = non_provider(bundle)
    owners = step_owners(bundle)
    result.exchanges, result.hosts = len(others), hosts_of(others)
    for exchange in others:
        for hit in leaked(scan.scan_request(exchange), exchange, bundle, owners):
            result.leaked_exchanges.add(exchange.id)
            result.leaks.append(exchange_ref(exchange, hit_detail(bundle, hit)))
    return result

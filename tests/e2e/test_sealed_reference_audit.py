"""The reference server audited with sealed egress: every check passes, RTE-05 included, so A+.

Real byok-ref process, real mitmdump with its TUN device, the whole audit inside a network namespace
of its own. Afterwards nothing of the seal is left: no process in its namespace, none of ours alive.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from byok_audit.checks import ALL_CHECKS
from byok_audit.cli import main
from byok_audit.harness.seal import seal_problem
from byok_audit.models.evidence import EvidenceBundle

PROBLEM = seal_problem()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(PROBLEM is not None, reason=f"sealed egress cannot run here: {PROBLEM}"),
]

PROFILE = Path(__file__).resolve().parents[2] / "reference_impl" / "profile.toml"


def namespace_holders(namespace: str) -> list[int]:
    found = set()
    for task in Path("/proc").glob("[0-9]*/task/[0-9]*/ns/net"):
        with contextlib.suppress(OSError):
            if os.readlink(task) == namespace:
                found.add(int(task.parts[2]))
    return sorted(found)


SIOCGSKNS = 0x894C  # ioctl: the network namespace a socket belongs to


def our_sockets_in(namespace: str) -> list[int]:
    """File descriptors of this process whose socket lives in ``namespace`` (each would pin it)."""
    pinned = []
    for entry in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            if not os.readlink(entry).startswith("socket:"):
                continue
            ns_fd = fcntl.ioctl(int(entry.name), SIOCGSKNS)
            try:
                if os.readlink(f"/proc/self/fd/{ns_fd}") == namespace:
                    pinned.append(int(entry.name))
            finally:
                os.close(ns_fd)
    return pinned


def children_of(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            children += [int(c) for c in (task / "children").read_text().split()]
    return children


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, str, dict]:
    out = tmp_path_factory.mktemp("sealed")
    before = {
        "namespace": os.readlink("/proc/thread-self/ns/net"),
        "children": set(children_of(os.getpid())),  # other fixtures' servers, if any
    }
    result = CliRunner().invoke(
        main, ["run", "--target", str(PROFILE), "--sealed", "--out", str(out), "-q"]
    )
    return result.exit_code, out, result.output, before


def test_every_check_passes_including_sealed_egress_for_an_a_plus(audit) -> None:
    code, out, output, _ = audit
    result = json.loads((out / "result.json").read_text())
    found = {c["check_id"]: c["status"] for c in result["checks"]}
    assert found == {c.id: "PASS" for c in ALL_CHECKS}, output
    assert result["effective"]["grade"] == "A+"
    assert code == 0
    rte05 = next(c for c in result["checks"] if c["check_id"] == "RTE-05")
    assert "nothing went around it" in rte05["summary"]
    assert "TUN device" in rte05["summary"]  # says what was watched


def test_the_bundle_records_a_proven_seal_and_no_probe(audit) -> None:
    _, out, _, _ = audit
    bundle = EvidenceBundle.load(out / "bundle.json")
    assert bundle.harness.sealed_egress
    assert "at the start and the end of the run" in bundle.harness.seal
    assert not [e for e in bundle.exchanges if e.via == "tun"]
    assert not [e for e in bundle.exchanges if e.host.startswith(("192.0.2.", "2001:db8:"))]
    assert any(e.host == "api.anthropic.com" for e in bundle.exchanges)


def test_nothing_of_the_seal_is_left_behind(audit) -> None:
    _, out, _, before = audit
    assert os.readlink("/proc/thread-self/ns/net") == before["namespace"]  # the thread came back
    seal = EvidenceBundle.load(out / "bundle.json").harness.seal
    namespace = re.search(r"net:\[\d+\]", seal)
    assert namespace is not None and namespace.group(0) != before["namespace"]
    assert namespace_holders(namespace.group(0)) == []  # no process in it
    assert our_sockets_in(namespace.group(0)) == []  # no socket of the driver's pins it either
    assert set(children_of(os.getpid())) <= before["children"]  # no proxy, target or ip left

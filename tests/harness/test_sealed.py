"""Whole audits with and without ``--sealed`` against a target that also goes around the proxy.

The fake target behaves (it calls the provider through HTTPS_PROXY) but, on every prompt, also posts the
prompt to a telemetry host with ``trust_env=False`` (the system resolver, then a direct connection) and
asks a hard-coded DNS server about a name. Sealed, both are caught and RTE-05 fails; unsealed, they go
unseen and RTE-05 is NOT_APPLICABLE. The unsealed run happens in a bare network namespace of the test's
own, so the target's direct calls cannot reach the host's network either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from byok_audit.cli import main
from byok_audit.harness.seal import seal_problem
from byok_audit.models.evidence import EvidenceBundle
from tests.harness.fake import write_profile
from tests.harness.fake_target import OWN_QUERY_NAME, OWN_RESOLVER

pytestmark = pytest.mark.e2e

PROBLEM = seal_problem()
needs_seal = pytest.mark.skipif(
    PROBLEM is not None, reason=f"sealed egress cannot run here: {PROBLEM}"
)
REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "reference_impl" / "profile.toml"


def checks_of(out: Path) -> dict[str, dict]:
    return {c["check_id"]: c for c in json.loads((out / "result.json").read_text())["checks"]}


@needs_seal
def test_sealed_audit_catches_the_direct_call_and_the_own_dns_query(tmp_path: Path) -> None:
    before = os.readlink("/proc/thread-self/ns/net")
    profile = write_profile(tmp_path, "--bypass")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["run", "--target", str(profile), "--sealed", "--scenario", "routing", "--out", str(out)],
    )
    assert result.exit_code in (0, 1, 2), result.output  # graded: not a usage or harness error
    assert os.readlink("/proc/thread-self/ns/net") == before

    bundle = EvidenceBundle.load(out / "bundle.json")
    assert bundle.harness.sealed_egress and "TUN device" in bundle.harness.seal
    around = [e for e in bundle.exchanges if e.via == "tun"]
    posts = [e for e in around if e.kind == "http"]
    assert posts and {e.resolved_name for e in posts} == {"o123.ingest.sentry.io"}
    assert all(e.sni == "o123.ingest.sentry.io" and e.answered_by == "sink" for e in posts)
    own = [e for e in around if e.kind == "dns" and e.path == OWN_QUERY_NAME]
    assert own and {(e.host, e.port) for e in own} == {OWN_RESOLVER}
    system = [e for e in around if e.kind == "dns" and e.path == "o123.ingest.sentry.io"]
    assert system  # the system resolver's query went around the proxy too
    proxied = [e for e in bundle.exchanges if e.via == "proxy" and e.kind == "http"]
    assert proxied and all(e.host == "api.anthropic.com" for e in proxied)
    assert not [e for e in bundle.exchanges if e.host.startswith(("192.0.2.", "2001:db8:"))]

    rte05 = checks_of(out)["RTE-05"]
    assert rte05["status"] == "FAIL"
    assert rte05["summary"].startswith("prompt text left the platform outside the proxy")
    assert "o123.ingest.sentry.io (198.18.0.1:443)" in rte05["summary"]
    assert f"DNS {OWN_RESOLVER[0]}:53 for {OWN_QUERY_NAME}" in rte05["summary"]
    assert checks_of(out)["RTE-06"]["status"] == "FAIL"  # the leak is now visible to RTE-06 too


def test_unsealed_the_same_target_leaves_rte05_not_applicable(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the unsealed run needs a bare network namespace of its own (root)")
    profile = write_profile(tmp_path, "--bypass")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "byok_audit", "run", "--target", str(profile)]
    command += ["--scenario", "routing", "--out", str(out), "-q"]
    done = subprocess.run(
        ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1, 2), done.stderr
    rte05 = checks_of(out)["RTE-05"]
    assert rte05["status"] == "NOT_APPLICABLE"
    assert "--sealed" in rte05["summary"]
    bundle = EvidenceBundle.load(out / "bundle.json")
    assert not bundle.harness.sealed_egress
    assert not [e for e in bundle.exchanges if e.via == "tun"]  # gone unseen
    assert not [e for e in bundle.exchanges if "sentry" in e.host]


def test_sealed_without_root_is_a_usage_error_naming_what_is_missing(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "byok_audit", "run", "--target", str(REFERENCE)]
    command += ["--sealed", "--out", "/nonexistent/out"]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 3, done.stderr
    assert "sealed egress needs root" in done.stderr


@needs_seal
def test_sealed_with_a_postgres_dsn_over_tcp_is_a_usage_error(tmp_path: Path) -> None:
    profile = write_profile(
        tmp_path,
        extra='\n[database]\nengine = "postgresql"\ndsn = "postgresql://u:pw@127.0.0.1:5432/db"\n',
    )
    result = CliRunner().invoke(
        main, ["run", "--target", str(profile), "--sealed", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 3, result.output
    assert "PostgreSQL database at 127.0.0.1" in result.output
    assert "pw@" not in result.output


@needs_seal
def test_a_loopback_name_server_is_answered_by_the_seal_too(tmp_path: Path) -> None:
    """With systemd-resolved's 127.0.0.53 in resolv.conf, queries stay on lo and never reach the
    TUN device: the seal answers on that address as well. The audit runs in a mount namespace of the
    test's own in which /etc/resolv.conf says so."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.53\noptions edns0\n")
    profile = write_profile(tmp_path, "--bypass")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "byok_audit", "run", "--target", str(profile), "--sealed"]
    command += ["--scenario", "routing", "--out", str(out), "-q"]
    remount = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
    done = subprocess.run(
        ["unshare", "--mount", "--", "sh", "-c", remount, str(resolv), *command],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1, 2), done.stderr
    bundle = EvidenceBundle.load(out / "bundle.json")
    assert "DNS answered on 127.0.0.53" in bundle.harness.seal
    lookups = [e for e in bundle.exchanges if e.kind == "dns" and e.host == "127.0.0.53"]
    assert lookups and {e.path for e in lookups} == {"o123.ingest.sentry.io"}
    assert all(e.via == "tun" for e in lookups)
    posts = [e for e in bundle.exchanges if e.kind == "http" and e.via == "tun"]
    assert posts and posts[0].resolved_name == "o123.ingest.sentry.io"
    assert "DNS 127.0.0.53:53 for o123.ingest.sentry.io" in checks_of(out)["RTE-05"]["summary"]

"""The real mitmdump child process: lifecycle, what it records, how it is steered. Loopback only."""

from __future__ import annotations

import os
import socket
import ssl
from pathlib import Path

import httpx
import pytest

from byok_audit.errors import ProxyError
from byok_audit.harness import Proxy
from byok_audit.models.canary import mint_anthropic_key

pytestmark = pytest.mark.e2e

MESSAGE = {
    "model": "claude-haiku-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def client(proxy: Proxy, **kwargs) -> httpx.Client:
    return httpx.Client(proxy=proxy.url, verify=str(proxy.ca_cert_path), trust_env=False, **kwargs)


def raw_connect(proxy: Proxy, target: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port))
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200"), reply
    return sock


def test_start_stop_leaves_no_process_port_or_directory():
    proxy = Proxy().start()
    pid, port, run_dir = proxy.pid, proxy.port, proxy.run_dir
    assert proxy.running and port_open(port)
    assert proxy.ca_cert_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
    proxy.stop()
    assert not pid_alive(pid)
    assert not port_open(port)
    assert not run_dir.exists()
    proxy.stop()  # idempotent


def test_records_provider_sink_and_plain_http_without_any_upstream_attempt():
    key = mint_anthropic_key()
    with Proxy() as proxy:
        proxy.issue_keys(key)
        proxy.set_response_canary("BYOKRSEENINREPLY")
        with client(proxy) as http:
            reply = http.post(
                "https://api.anthropic.com/v1/messages?beta=true",
                headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                json=MESSAGE,
            )
            telemetry = http.post(
                "https://o123.ingest.sentry.io/api/1/envelope/", content=b"prompt!"
            )
            plain = http.get("http://telemetry.example.net/collect?k=v")
        assert reply.status_code == 200 and "BYOKRSEENINREPLY" in reply.text
        assert telemetry.json() == {"ok": True} and plain.json() == {"ok": True}
        assert len(proxy.exchanges()) == 3  # readable while running
    exchanges = proxy.exchanges()
    assert [e.kind for e in exchanges] == ["http"] * 3
    provider, sentry, insecure = exchanges
    assert (provider.host, provider.sni, provider.tls, provider.path, provider.query) == (
        "api.anthropic.com",
        "api.anthropic.com",
        True,
        "/v1/messages",
        "beta=true",
    )
    assert provider.request_header("x-api-key") == key
    assert provider.answered_by == "mock_provider"
    assert provider.client_pid == os.getpid()
    assert sentry.answered_by == "sink" and sentry.request_body == b"prompt!"
    assert (insecure.scheme, insecure.tls, insecure.port, insecure.sni) == ("http", False, 80, None)
    assert not [e for e in exchanges if e.answered_by == "blocked" or e.kind == "blocked"]


def test_connect_without_request_tls_refusal_and_raw_tcp_are_recorded():
    with Proxy() as proxy:
        raw_connect(proxy, "quiet.example.com:443").close()
        with raw_connect(proxy, "api.anthropic.com:443") as sock:
            # A client that does not trust the audit CA refuses the handshake.
            context = ssl.create_default_context()
            with pytest.raises(ssl.SSLError):
                context.wrap_socket(sock, server_hostname="api.anthropic.com")
        with raw_connect(proxy, "db.example.org:5432") as sock:
            sock.sendall(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")  # PostgreSQL SSLRequest
            sock.settimeout(5)
            assert sock.recv(100) == b""  # the proxy closes: nothing is forwarded
    kinds = {(e.kind, e.host, e.port) for e in proxy.exchanges()}
    assert ("connect", "quiet.example.com", 443) in kinds
    assert ("tls_failed", "api.anthropic.com", 443) in kinds
    assert ("blocked", "db.example.org", 5432) in kinds
    assert ("tcp", "db.example.org", 5432) in kinds


def test_faults_are_applied_and_recorded():
    key = mint_anthropic_key()
    with Proxy() as proxy:
        proxy.issue_keys(key)
        proxy.inject_fault("rate_limited", count=2, delay=3)
        headers = {"x-api-key": key}
        with client(proxy) as http:
            statuses = [
                http.post("https://api.anthropic.com/v1/messages", headers=headers, json=MESSAGE)
                for _ in range(3)
            ]
            proxy.inject_fault("server_error")
            proxy.clear_faults()
            after_clear = http.post(
                "https://api.anthropic.com/v1/messages", headers=headers, json=MESSAGE
            )
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["retry-after"] == "3"
    assert after_clear.status_code == 200
    assert [e.fault for e in proxy.exchanges()] == ["rate_limited", "rate_limited", None, None]
    with pytest.raises(ValueError, match="unknown fault"):
        proxy.inject_fault("teapot")


def test_timeout_fault_holds_the_request_and_stop_still_ends_cleanly():
    key = mint_anthropic_key()
    proxy = Proxy().start()
    proxy.issue_keys(key)
    proxy.inject_fault("timeout", delay=600)
    with client(proxy, timeout=1.0) as http, pytest.raises(httpx.ReadTimeout):
        http.post("https://api.anthropic.com/v1/messages", headers={"x-api-key": key}, json=MESSAGE)
    process = proxy._process
    proxy.stop()
    assert process is not None and process.returncode == 0  # SIGTERM sufficed, no SIGKILL
    [held] = proxy.exchanges()
    assert held.fault == "timeout" and held.response_status is None and held.error


def test_two_proxies_run_side_by_side_with_their_own_ca_and_records():
    with Proxy() as first, Proxy() as second:
        assert first.port != second.port
        assert first.ca_cert_path.parent != second.ca_cert_path.parent
        with client(first) as http:
            http.get("https://one.example/")
        with client(second) as http:
            http.get("https://two.example/")
    assert [e.host for e in first.exchanges()] == ["one.example"]
    assert [e.host for e in second.exchanges()] == ["two.example"]


def test_a_given_run_dir_is_kept_with_its_journal(tmp_path: Path):
    with Proxy(tmp_path / "proxy") as proxy, client(proxy) as http:
        http.get("https://kept.example/")
    assert (tmp_path / "proxy" / "exchanges.jsonl").read_text().count("\n") == 1


class _BrokenProxy(Proxy):
    @staticmethod
    def _command(run_dir: Path, confdir: Path) -> list[str]:
        return [*Proxy._command(run_dir, confdir), "--set", "connection_strategy=bogus"]


def test_a_proxy_that_cannot_start_raises_and_leaves_nothing():
    proxy = _BrokenProxy()
    with pytest.raises(ProxyError, match="exited with code"):
        proxy.start()
    assert proxy.pid is not None and not pid_alive(proxy.pid)
    assert proxy.run_dir is not None and not proxy.run_dir.exists()


def test_a_proxy_that_never_becomes_ready_is_killed():
    proxy = Proxy(start_timeout=0.001)
    with pytest.raises(ProxyError, match="did not start listening"):
        proxy.start()
    assert proxy.pid is not None and not pid_alive(proxy.pid)

"""Real child processes: started behind the proxy env, waited for, stopped with everything they spawned."""

from __future__ import annotations

import os
import socket
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from byok_audit.errors import TargetExited, TargetNotReady
from byok_audit.targets.launcher import TargetProcess, proxy_env

pytestmark = pytest.mark.e2e

SERVER = textwrap.dedent(
    """
    import http.server, os, signal, subprocess, sys
    port, pidfile, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if mode == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    open(pidfile, "w").write(str(helper.pid))
    print("started", os.environ.get("HTTPS_PROXY"), flush=True)
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/die":
                os._exit(5)
            self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
        def log_message(self, *a):
            pass
    http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def server(tmp_path: Path, mode: str = "normal", **kwargs) -> tuple[TargetProcess, int, Path]:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    port = free_port()
    pidfile = tmp_path / "helper.pid"
    env = {"PATH": os.environ["PATH"], **proxy_env("http://127.0.0.1:9", tmp_path / "ca.pem")}
    target = TargetProcess(
        [sys.executable, str(script), str(port), str(pidfile), mode],
        env=env,
        cwd=tmp_path,
        output_dir=tmp_path,
        ready_url=f"http://127.0.0.1:{port}/",
        **kwargs,
    )
    return target, port, pidfile


def test_proxy_env_covers_python_node_and_curl(tmp_path):
    env = proxy_env("http://127.0.0.1:8080", tmp_path / "ca.pem")
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        assert env[name] == "http://127.0.0.1:8080"
    assert env["NO_PROXY"] == env["no_proxy"] == "127.0.0.1,localhost"
    assert env["NODE_USE_ENV_PROXY"] == "1"
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
        assert env[name] == str(tmp_path / "ca.pem")


def test_start_ready_stop_kills_the_whole_group(tmp_path):
    target, port, pidfile = server(tmp_path)
    with target:
        pid = target.pid
        helper = int(pidfile.read_text())
        assert httpx.get(f"http://127.0.0.1:{port}/", trust_env=False).text == "ok"
        assert alive(helper)
    assert not alive(pid) and not alive(helper) and port_free(port)
    assert target.record.crashed is False and target.record.exit_code is not None
    assert "started http://127.0.0.1:9" in target.stdout_path.read_text()


def test_sigterm_ignored_means_sigkill(tmp_path):
    target, port, _ = server(tmp_path, "ignore-term", stop_timeout=0.5)
    target.start()
    pid = target.pid
    record = target.stop()
    assert not alive(pid) and port_free(port)
    assert record.exit_code == -9


def test_restart_keeps_command_and_env_and_appends_output(tmp_path):
    target, port, _ = server(tmp_path)
    with target:
        first = target.pid
        target.restart()
        assert target.pid != first and not alive(first)
        assert target.record.restarts == 1
        assert httpx.get(f"http://127.0.0.1:{port}/", trust_env=False).status_code == 200
    assert target.stdout_path.read_text().count("started") == 2


def test_a_crash_during_the_run_is_reported(tmp_path):
    target, port, _ = server(tmp_path)
    with target:
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/die", trust_env=False)
        deadline = time.monotonic() + 10
        while target._process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(TargetExited, match="code 5"):
            target.check_alive()
    assert target.record.crashed is True and target.record.exit_code == 5


def test_exit_at_once_is_a_clear_error_with_redacted_stderr(tmp_path):
    secret = "sk-ant-api03-" + "x" * 93 + "AA"
    target = TargetProcess(
        [
            sys.executable,
            "-c",
            f"import sys; print('bad config, key {secret}', file=sys.stderr); sys.exit(3)",
        ],
        env={"PATH": os.environ["PATH"]},
        cwd=tmp_path,
        output_dir=tmp_path,
        ready_url="http://127.0.0.1:9/",
        redact=lambda text: text.replace(secret, "«key»"),
    )
    with pytest.raises(TargetExited) as info:
        target.start()
    message = str(info.value)
    assert "exited with code 3" in message and "bad config, key «key»" in message
    assert secret not in message
    assert target.pid is None and target.record.pid is not None and not alive(target.record.pid)


def test_never_ready_is_a_clear_error_and_nothing_is_left(tmp_path):
    port = free_port()
    target = TargetProcess(
        [sys.executable, "-c", "import time; print('warming up', flush=True); time.sleep(300)"],
        env={"PATH": os.environ["PATH"]},
        cwd=tmp_path,
        output_dir=tmp_path,
        ready_url=f"http://127.0.0.1:{port}/healthz",
        ready_timeout=1.0,
    )
    with pytest.raises(TargetNotReady, match="did not answer"):
        target.start()
    assert not alive(target.record.pid) and port_free(port)


def test_missing_command_is_a_target_error(tmp_path):
    from byok_audit.errors import TargetError

    target = TargetProcess(
        ["/nonexistent/binary"], env={}, cwd=tmp_path, output_dir=tmp_path, ready_url=None
    )
    with pytest.raises(TargetError, match="cannot start target"):
        target.start()

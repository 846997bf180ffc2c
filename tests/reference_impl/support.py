"""Helpers for driving a real `byok-ref serve` child process on loopback."""

from __future__ import annotations

import base64
import os
import secrets
import sqlite3
import string
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY_ALPHABET = string.ascii_letters + string.digits + "_-"
# Nothing listens here: a server started without the fake provider cannot reach anything.
DEAD_PROXY = "http://127.0.0.1:9"
_PROXY_VARS = {
    "https_proxy",
    "http_proxy",
    "all_proxy",
    "no_proxy",
    "ssl_cert_file",
    "ssl_cert_dir",
}


def canary_key() -> str:
    """A fresh, well-formed Anthropic console key that no provider has ever issued."""
    return "sk-ant-api03-" + "".join(secrets.choice(KEY_ALPHABET) for _ in range(93)) + "AA"


def encodings(secret: str) -> list[bytes]:
    """The forms a leaked secret could take in a file: raw, base64 (std/url), hex, JSON-escaped."""
    raw = secret.encode()
    return [
        raw,
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw),
        raw.hex().encode(),
        raw.hex().upper().encode(),
    ]


def fragments(secret: str, *, size: int = 8, display_suffix: int = 4) -> Iterable[str]:
    """Every run of `size` characters of the key's secret part, except the display suffix."""
    body = secret[len("sk-ant-api03-") : len(secret) - display_suffix]
    return {body[i : i + size] for i in range(len(body) - size + 1)}


def assert_secret_absent(haystack: bytes | str, secret: str, *, where: str) -> None:
    data = haystack.encode() if isinstance(haystack, str) else haystack
    for form in encodings(secret):
        assert form not in data, f"the secret (in some encoding) appears in {where}"
    for fragment in fragments(secret):
        assert fragment.encode() not in data, f"an 8-character key fragment appears in {where}"


class RefServer:
    """One `byok-ref serve` process with its own database, log file, stdout and stderr."""

    def __init__(
        self,
        workdir: Path,
        *,
        master_keys: str,
        db: str | None = None,
        extra_args: Iterable[str] = (),
        env: dict[str, str] | None = None,
        dev_signup: bool = True,
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.master_keys = master_keys
        self.db = db or str(workdir / "byok.sqlite3")
        self.log_file = workdir / "server.log"
        self.stdout_path = workdir / "stdout.txt"
        self.stderr_path = workdir / "stderr.txt"
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        self.dev_signup = dev_signup
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def child_env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k.lower() not in _PROXY_VARS and not k.startswith("BYOK_")
        }
        env.update(
            PYTHONPATH=str(REPO_ROOT),
            BYOK_MASTER_KEYS=self.master_keys,
            HTTPS_PROXY=DEAD_PROXY,
            HTTP_PROXY=DEAD_PROXY,
            ALL_PROXY=DEAD_PROXY,
        )
        env.update(self.env)
        return env

    def start(self, timeout: float = 30.0) -> RefServer:
        port_file = self.workdir / "port"
        port_file.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "reference_impl",
            "serve",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--db",
            self.db,
            "--log-file",
            str(self.log_file),
            *(["--dev-signup"] if self.dev_signup else []),
            *self.extra_args,
        ]
        with self.stdout_path.open("ab") as out, self.stderr_path.open("ab") as err:
            self.proc = subprocess.Popen(
                command, cwd=self.workdir, env=self.child_env(), stdout=out, stderr=err
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"byok-ref serve exited with {self.proc.returncode}: "
                    f"{self.stderr_path.read_text()[-2000:]}"
                )
            if port_file.exists() and port_file.read_text().strip():
                self.port = int(port_file.read_text())
                try:
                    if (
                        httpx.get(f"{self.url}/healthz", timeout=2, trust_env=False).status_code
                        == 200
                    ):
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("byok-ref serve did not become ready in time")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, trust_env=False, timeout=30)

    def signup(self, name: str | None = None) -> tuple[str, dict[str, str]]:
        """Create a user; returns (user_id, auth headers)."""
        with self.client() as client:
            response = client.post(
                "/api/v1/dev/signup", json={"name": name or f"user-{secrets.token_hex(6)}"}
            )
        assert response.status_code == 201, response.text
        body = response.json()
        return body["user_id"], {"authorization": f"Bearer {body['token']}"}

    def put_key(self, headers: dict[str, str], key: str) -> httpx.Response:
        with self.client() as client:
            return client.put("/api/v1/claude-key", json={"api_key": key}, headers=headers)

    def output(self) -> str:
        """Everything the process wrote: log file, stdout and stderr."""
        parts = [self.log_file, self.stdout_path, self.stderr_path]
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())

    def stored_record(self, user_id: str) -> bytes | None:
        return stored_record(Path(self.db), user_id)

    def db_file_bytes(self) -> dict[str, bytes]:
        return db_file_bytes(Path(self.db))


def stored_record(db_path: Path, user_id: str) -> bytes | None:
    """Read the record through a read-only connection (it never checkpoints or deletes the WAL)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT record FROM provider_keys WHERE user_id = ? AND provider = 'anthropic'",
            (user_id,),
        ).fetchone()
    finally:
        conn.close()
    return None if row is None else bytes(row[0])


def db_file_bytes(db_path: Path) -> dict[str, bytes]:
    """Raw bytes of the database file and its -wal and -journal siblings, without SQLite."""
    found = {}
    for suffix in ("", "-wal", "-journal"):
        path = Path(f"{db_path}{suffix}")
        if path.exists():
            found[path.name] = path.read_bytes()
    return found


def residue(files: dict[str, bytes], needle: bytes, *, window: int = 16) -> list[str]:
    """Files holding the needle or any `window`-byte slice of it (a partial copy counts)."""
    slices = {needle[i : i + window] for i in range(max(1, len(needle) - window + 1))}
    return [name for name, data in files.items() if any(s in data for s in slices)]

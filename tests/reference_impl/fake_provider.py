"""A fake api.anthropic.com on loopback, reached through a tiny CONNECT proxy.

The server under test runs with HTTPS_PROXY pointing at `ConnectProxy` and SSL_CERT_FILE at a
throwaway CA, exactly as an auditor's interception works: its real httpx client, real TLS and
real proxy handling are exercised, and nothing ever leaves 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PROVIDER_HOST = "api.anthropic.com"
PROVIDER_BODY_CANARY = "PROVIDER-ERROR-BODY-CANARY-7f3e"


def _write_ca_and_leaf(directory: Path, hostname: str) -> tuple[Path, Path, Path]:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "byok-ref throwaway test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    cert_path = directory / "leaf.pem"
    key_path = directory / "leaf.key"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf_cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


@dataclass
class ProviderCall:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


def sse_events(
    model: str,
    text: str,
    input_tokens: int,
    output_tokens: int,
    cache_usage: dict[str, int] | None = None,
) -> bytes:
    """An Anthropic-shaped stream whose text arrives in two deltas."""
    half = len(text) // 2
    events = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_fake_stream",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "usage": {
                        "input_tokens": input_tokens,
                        **(cache_usage or {}),
                        "output_tokens": 1,
                    },
                },
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text[:half]},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text[half:]},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
    )


@dataclass
class FakeProvider:
    """What the fake answers is set per test through `mode` and `response_text`.

    Modes besides the error ones: "gated" answers normally once `gate` is set (or after
    `hang_seconds`); "stall" sends a stream's status and headers, then nothing until `gate` is set.
    """

    workdir: Path
    mode: str = "ok"
    response_text: str = "fake provider reply"
    input_tokens: int = 11
    output_tokens: int = 7
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    hang_seconds: float = 6.0
    calls: list[ProviderCall] = field(default_factory=list)
    last_stream: bytes = b""
    gate: threading.Event = field(default_factory=threading.Event)

    def cache_usage(self) -> dict[str, int]:
        """Prompt-cache counts for the usage object, when the test set any."""
        counts = {
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
        }
        return counts if any(counts.values()) else {}

    def __post_init__(self) -> None:
        self.ca_path, cert_path, key_path = _write_ca_and_leaf(self.workdir, PROVIDER_HOST)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self._https = ThreadingHTTPServer(("127.0.0.1", 0), _ProviderHandler)
        self._https.daemon_threads = True
        self._https.socket = context.wrap_socket(self._https.socket, server_side=True)
        self._https.provider = self  # type: ignore[attr-defined]
        self.proxy = ConnectProxy(self._https.server_address[1])
        self._thread = threading.Thread(target=self._https.serve_forever, daemon=True)

    def start(self) -> FakeProvider:
        self._thread.start()
        self.proxy.start()
        return self

    def stop(self) -> None:
        self.proxy.stop()
        self._https.shutdown()
        self._https.server_close()

    def reset(self, mode: str = "ok") -> None:
        self.mode = mode
        self.gate.clear()
        self.cache_creation_input_tokens = self.cache_read_input_tokens = 0
        self.calls.clear()
        self.proxy.connects.clear()
        self.proxy.plain_requests.clear()
        self.last_stream = b""

    def env(self) -> dict[str, str]:
        proxy = f"http://127.0.0.1:{self.proxy.port}"
        return {
            "HTTPS_PROXY": proxy,
            "https_proxy": proxy,
            "HTTP_PROXY": proxy,
            "http_proxy": proxy,
            "SSL_CERT_FILE": str(self.ca_path),
        }


class _ProviderHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        return

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        provider: FakeProvider = self.server.provider  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        call = ProviderCall(
            "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        provider.calls.append(call)
        mode = provider.mode
        if mode == "gated":
            provider.gate.wait(provider.hang_seconds)
        if mode == "timeout":
            time.sleep(provider.hang_seconds)
            self.close_connection = True
            return
        errors = {
            "401": (401, "authentication_error", {}),
            "429": (429, "rate_limit_error", {"retry-after": "17"}),
            "500": (500, "api_error", {}),
            "529": (529, "overloaded_error", {}),
        }
        if mode in errors:
            status, kind, headers = errors[mode]
            payload = {"type": "error", "error": {"type": kind, "message": PROVIDER_BODY_CANARY}}
            self._send(status, json.dumps(payload).encode(), headers)
            return
        if mode == "malformed":
            truncated = json.dumps({"type": "message", "content": [{"text": PROVIDER_BODY_CANARY}]})
            self._send(200, truncated[: len(truncated) // 2].encode())
            return
        request = json.loads(body)
        if request.get("stream"):
            stream = sse_events(
                request["model"],
                provider.response_text,
                provider.input_tokens,
                provider.output_tokens,
                provider.cache_usage(),
            )
            provider.last_stream = stream
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            self.close_connection = True
            if mode == "stall":
                self.wfile.flush()
                provider.gate.wait(provider.hang_seconds)
            with contextlib.suppress(OSError):  # the server may have hung up meanwhile
                for start in range(0, len(stream), 97):
                    self.wfile.write(stream[start : start + 97])
                    self.wfile.flush()
            return
        reply = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": request["model"],
            "content": [{"type": "text", "text": provider.response_text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": provider.input_tokens,
                **provider.cache_usage(),
                "output_tokens": provider.output_tokens,
            },
        }
        self._send(200, json.dumps(reply).encode())


class ConnectProxy:
    """Accepts CONNECT host:port, records the target and tunnels to the fake provider.

    Any plain-HTTP request is recorded (request line only) and refused: the server must never
    send a key over plain HTTP.
    """

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.connects: list[str] = []
        self.plain_requests: list[str] = []
        self._stopped = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target = request_line.split(" ")[:2]
        if method != "CONNECT":
            self.plain_requests.append(request_line)
            client.sendall(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            client.close()
            return
        self.connects.append(target)
        upstream = socket.create_connection(("127.0.0.1", self._target_port))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest:
            upstream.sendall(rest)
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

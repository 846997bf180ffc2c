"""Harness cost: proxy start+stop time and per-request overhead, direct vs through the audit proxy.

Not a test: run it and read the ratios. ``python bench/bench_harness.py [--requests N] [--cycles N]``

Baseline ("direct") is a loopback HTTP server in its own process answering a provider-sized JSON
reply; "proxy" is the same request sent through the mitmdump child and answered by the mock provider
(HTTPS, the audit CA) or by the sink (plain HTTP). Each is measured with keep-alive and with a new
connection per request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time

import httpx

from byok_audit.harness import Proxy
from byok_audit.models.canary import mint_anthropic_key

SERVER = textwrap.dedent(
    """
    import json, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    body = json.dumps({"type": "message", "content": [{"type": "text", "text": "x" * 200}]}).encode()
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *a):
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)
MESSAGE = {
    "model": "claude-haiku-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}


def timed(n: int, send) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        response = send()
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return samples


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def measure(n: int, url: str, *, keepalive: bool, key: str = "", **client_kwargs) -> list[float]:
    """Keep-alive reuses one connection; otherwise each request opens a new one (and, through the
    proxy, a new CONNECT and TLS handshake). One client either way, so its setup is not measured."""
    headers = {"x-api-key": key}
    limits = httpx.Limits(max_keepalive_connections=None if keepalive else 0)
    with httpx.Client(trust_env=False, limits=limits, **client_kwargs) as client:
        client.post(url, json=MESSAGE, headers=headers)  # warm up
        return timed(n, lambda: client.post(url, json=MESSAGE, headers=headers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()

    starts, stops = [], []
    for _ in range(args.cycles):
        proxy = Proxy()
        t0 = time.perf_counter()
        proxy.start()
        t1 = time.perf_counter()
        proxy.stop()
        starts.append(t1 - t0)
        stops.append(time.perf_counter() - t1)
    print(
        f"proxy start (until listening): median {statistics.median(starts) * 1000:.0f} ms "
        f"over {args.cycles} cycles (first, with CA generation: {starts[0] * 1000:.0f} ms)"
    )
    print(f"proxy stop (SIGTERM, journal flushed): median {statistics.median(stops) * 1000:.0f} ms")

    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    key = mint_anthropic_key()
    rows = []
    try:
        direct_url = f"http://127.0.0.1:{int(server.stdout.readline())}/v1/messages"
        with Proxy() as proxy:
            proxy.issue_keys(key)
            via = {"proxy": proxy.url, "verify": str(proxy.ca_cert_path)}
            unhinted = measure(
                args.requests,
                "https://api.anthropic.com/v1/messages",
                keepalive=False,
                key=key,
                **via,
            )
            # As in an audit: the client (here, this process) is hinted for client-pid lookup.
            proxy.hint_client_pids(os.getpid())
            for keepalive in (True, False):
                label = "keep-alive" if keepalive else "new connection"
                direct = measure(args.requests, direct_url, keepalive=keepalive)
                mock = measure(
                    args.requests,
                    "https://api.anthropic.com/v1/messages",
                    keepalive=keepalive,
                    key=key,
                    **via,
                )
                sink = measure(
                    args.requests, "http://sink.example/v1/messages", keepalive=keepalive, **via
                )
                rows.append((label, direct, mock, sink))
    finally:
        server.terminate()
        server.wait()

    print(f"\nper request, {args.requests} requests each (median / p95 in ms):")
    for label, direct, mock, sink in rows:
        d, m, s = summary(direct), summary(mock), summary(sink)
        print(f"  {label:15} direct HTTP      {d[0]:6.2f} / {d[1]:6.2f}")
        print(
            f"  {label:15} proxy+mock HTTPS {m[0]:6.2f} / {m[1]:6.2f}   "
            f"ratio {m[0] / d[0]:5.1f}x  overhead {m[0] - d[0]:+.2f} ms"
        )
        print(
            f"  {label:15} proxy+sink HTTP  {s[0]:6.2f} / {s[1]:6.2f}   "
            f"ratio {s[0] / d[0]:5.1f}x  overhead {s[0] - d[0]:+.2f} ms"
        )
    u = summary(unhinted)
    print(
        f"  new connection, client pid not hinted (full /proc scan each): proxy+mock HTTPS "
        f"{u[0]:6.2f} / {u[1]:6.2f}"
    )


if __name__ == "__main__":
    main()

"""Sink: answers every request nobody else answered with a plain 200, so its payload is captured.

Telemetry (Sentry), aggregators (OpenRouter) and the platform's own services all land here: their
requests are recorded in full and never forwarded.
"""

from __future__ import annotations

from mitmproxy import http

from byok_audit.harness.addons.recorder import ANSWERED_BY

SINK_BODY = b'{"ok":true}'


class Sink:
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or flow.error is not None:
            return
        flow.metadata[ANSWERED_BY] = "sink"
        flow.response = http.Response.make(200, SINK_BODY, {"content-type": "application/json"})

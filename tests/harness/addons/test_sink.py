from __future__ import annotations

from mitmproxy import http
from mitmproxy.test import taddons

from byok_audit.harness.addons.recorder import ANSWERED_BY
from byok_audit.harness.addons.sink import Sink
from tests.harness.addons.conftest import make_flow


def test_unanswered_request_gets_a_plain_200():
    sink = Sink()
    f = make_flow("o123.ingest.sentry.io", "POST", "/api/1/envelope/", body=b"payload")
    with taddons.context(sink):
        sink.request(f)
    assert f.response.status_code == 200
    assert f.response.content == b'{"ok":true}'
    assert f.metadata[ANSWERED_BY] == "sink"
    assert f.request.content == b"payload"  # the request is not altered


def test_answered_or_killed_requests_are_left_alone():
    sink = Sink()
    answered = make_flow()
    answered.response = http.Response.make(201, b"mine")
    killed = make_flow()
    killed.kill()
    with taddons.context(sink):
        sink.request(answered)
        sink.request(killed)
    assert answered.response.content == b"mine"
    assert killed.response is None
    assert ANSWERED_BY not in answered.metadata and ANSWERED_BY not in killed.metadata

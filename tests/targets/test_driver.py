from __future__ import annotations

import json
import socket

import pytest

from byok_audit.errors import DriverError, RequestTimeout
from byok_audit.models.evidence import HttpCall, header_values
from byok_audit.targets.driver import Driver, json_path
from tests.targets.echo_server import echo_server


def test_calls_are_recorded_with_what_was_sent_and_received():
    seen: list[HttpCall] = []
    with echo_server() as (base, recorded):
        driver = Driver(base, timeout=5, on_call=seen.append)
        call = driver.request(
            "PUT",
            "/api/key",
            headers={"Authorization": "Bearer t"},
            query={"q": "1"},
            json_body={"n": 64},
        )
        driver.close()
    assert call.status == 200 and seen == [call]
    assert call.url.endswith("/api/key?q=1")
    assert json.loads(call.request_body) == {"n": 64}
    assert header_values(call.request_headers, "authorization") == ["Bearer t"]
    assert json.loads(call.response_body)["echo"] == '{"n": 64}'
    assert recorded.requests[0]["headers"]["content-type"] == "application/json"
    assert call.elapsed > 0


def test_streamed_responses_are_read_whole():
    with echo_server() as (base, _):
        call = Driver(base, timeout=5).request("GET", "/stream")
    assert call.response_body == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"


def test_a_hanging_request_is_a_timeout_and_still_recorded():
    seen: list[HttpCall] = []
    with echo_server() as (base, _):
        driver = Driver(base, timeout=0.5, on_call=seen.append)
        with pytest.raises(RequestTimeout, match=r"did not complete within 0\.5s"):
            driver.request("POST", "/hang", json_body={})
        driver.close()
    assert seen[0].status is None and "timeout" in seen[0].error


def test_connection_refused_is_a_driver_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    seen: list[HttpCall] = []
    with pytest.raises(DriverError, match="ConnectError"):
        Driver(f"http://127.0.0.1:{port}", timeout=2, on_call=seen.append).request("GET", "/")
    assert seen[0].error


def test_json_path():
    doc = {"data": [{"id": "u1"}], "token": "t"}
    assert json_path(doc, "$.token") == "t"
    assert json_path(doc, "$.data[0].id") == "u1"
    with pytest.raises(KeyError):
        json_path(doc, "$.data[3].id")
    with pytest.raises(KeyError):
        json_path(doc, "$.missing")

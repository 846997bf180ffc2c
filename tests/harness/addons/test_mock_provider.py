from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from mitmproxy import http
from mitmproxy.test import taddons

from byok_audit.harness.addons.mock_provider import MockProvider
from byok_audit.harness.addons.recorder import ANSWERED_BY, FAULT
from byok_audit.harness.control import ControlReader, ControlState, Fault, IssuedKey
from byok_audit.models.canary import mint_anthropic_key, mint_openai_key
from tests.harness.addons.conftest import make_flow

CANARY = "BYOKRCANARY0123456789ABCD"
ANTHROPIC_KEY = mint_anthropic_key()
OPENAI_KEY = mint_openai_key()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    ControlState(
        keys=[
            IssuedKey(value=ANTHROPIC_KEY, provider="anthropic"),
            IssuedKey(value=OPENAI_KEY, provider="openai"),
        ],
        response_canary=CANARY,
    ).write(tmp_path)
    return tmp_path


def run(coro):
    return asyncio.run(coro)


async def answer(addon: MockProvider, f: http.HTTPFlow) -> http.HTTPFlow:
    with taddons.context(addon):
        await addon.request(f)
    return f


def anthropic(path="/v1/messages", body=None, key=ANTHROPIC_KEY, method="POST", header="x-api-key"):
    headers = [] if key is None else [(header, key if header == "x-api-key" else f"Bearer {key}")]
    payload = json.dumps(body).encode() if body is not None else b""
    return make_flow("api.anthropic.com", method, path, headers, payload)


def openai(path="/v1/chat/completions", body=None, key=OPENAI_KEY, method="POST"):
    headers = [] if key is None else [("Authorization", f"Bearer {key}")]
    payload = json.dumps(body).encode() if body is not None else b""
    return make_flow("api.openai.com", method, path, headers, payload)


MESSAGE = {
    "model": "claude-haiku-4-5",
    "max_tokens": 32,
    "messages": [{"role": "user", "content": "hi"}],
}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def sse_events(body: bytes) -> list[tuple[str, dict]]:
    events = []
    for block in body.decode().strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_anthropic_message_carries_canary_and_echoes_model(run_dir):
    f = run(answer(MockProvider(ControlReader(run_dir)), anthropic(body=MESSAGE)))
    assert f.response.status_code == 200
    assert f.metadata[ANSWERED_BY] == "mock_provider"
    reply = json.loads(f.response.content)
    assert reply["type"] == "message" and reply["role"] == "assistant"
    assert reply["model"] == "claude-haiku-4-5"
    assert CANARY in reply["content"][0]["text"]
    assert reply["stop_reason"] == "end_turn"
    assert reply["usage"]["output_tokens"] > 0 and reply["usage"]["input_tokens"] > 0


def test_anthropic_bearer_auth_is_accepted(run_dir):
    f = run(
        answer(
            MockProvider(ControlReader(run_dir)), anthropic(body=MESSAGE, header="authorization")
        )
    )
    assert f.response.status_code == 200


def test_anthropic_stream_has_the_real_event_sequence(run_dir):
    f = run(
        answer(MockProvider(ControlReader(run_dir)), anthropic(body={**MESSAGE, "stream": True}))
    )
    assert f.response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(f.response.content)
    names = [name for name, _ in events]
    deltas = [data for name, data in events if name == "content_block_delta"]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * len(deltas),
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert len(deltas) > 3
    assert all(name == data["type"] for name, data in events)
    text = "".join(d["delta"]["text"] for d in deltas)
    assert CANARY in text
    assert any(d["delta"]["text"] == CANARY for d in deltas)  # whole inside one delta
    assert events[0][1]["message"]["model"] == "claude-haiku-4-5"
    assert events[-2][1]["usage"]["output_tokens"] == len(deltas)


def test_count_tokens_and_models(run_dir):
    addon = MockProvider(ControlReader(run_dir))
    f = run(answer(addon, anthropic("/v1/messages/count_tokens", body=MESSAGE)))
    assert json.loads(f.response.content)["input_tokens"] > 0
    f = run(answer(addon, anthropic("/v1/models", method="GET")))
    models = json.loads(f.response.content)
    assert models["data"][0]["type"] == "model" and models["has_more"] is False
    f = run(answer(addon, openai("/v1/models", method="GET")))
    assert json.loads(f.response.content)["object"] == "list"


def test_openai_completion_and_stream(run_dir):
    addon = MockProvider(ControlReader(run_dir))
    f = run(answer(addon, openai(body=CHAT)))
    reply = json.loads(f.response.content)
    assert reply["object"] == "chat.completion" and reply["model"] == "gpt-4o-mini"
    assert CANARY in reply["choices"][0]["message"]["content"]
    assert reply["usage"]["total_tokens"] == (
        reply["usage"]["prompt_tokens"] + reply["usage"]["completion_tokens"]
    )
    f = run(answer(addon, openai(body={**CHAT, "stream": True})))
    lines = [line for line in f.response.content.decode().split("\n\n") if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert CANARY in text
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize("key", [None, "sk-ant-api03-unknown", OPENAI_KEY])
def test_anthropic_rejects_missing_unknown_or_other_providers_key(run_dir, key):
    f = run(answer(MockProvider(ControlReader(run_dir)), anthropic(body=MESSAGE, key=key)))
    assert f.response.status_code == 401
    error = json.loads(f.response.content)
    assert error["type"] == "error"
    assert error["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}


def test_openai_rejects_unknown_key(run_dir):
    f = run(answer(MockProvider(ControlReader(run_dir)), openai(body=CHAT, key=ANTHROPIC_KEY)))
    assert f.response.status_code == 401
    assert json.loads(f.response.content)["error"]["code"] == "invalid_api_key"


def test_unknown_paths_get_the_providers_404(run_dir):
    addon = MockProvider(ControlReader(run_dir))
    f = run(answer(addon, anthropic("/v1/organizations/me", method="GET")))
    assert f.response.status_code == 404
    assert json.loads(f.response.content)["error"]["type"] == "not_found_error"
    f = run(answer(addon, openai("/v1/files", method="GET")))
    assert f.response.status_code == 404
    assert "Invalid URL" in json.loads(f.response.content)["error"]["message"]


def test_bad_json_body_is_a_400(run_dir):
    f = anthropic()
    f.request.content = b"{not json"
    f = run(answer(MockProvider(ControlReader(run_dir)), f))
    assert f.response.status_code == 400
    assert json.loads(f.response.content)["error"]["type"] == "invalid_request_error"


def test_other_hosts_are_left_alone(run_dir):
    f = make_flow("openrouter.ai", "POST", "/api/v1/chat/completions")
    f = run(answer(MockProvider(ControlReader(run_dir)), f))
    assert f.response is None and ANSWERED_BY not in f.metadata


def with_faults(run_dir: Path, *faults: Fault) -> None:
    state = ControlState.model_validate_json((run_dir / "control.json").read_text())
    state.model_copy(update={"faults": list(faults)}).write(run_dir)


@pytest.mark.parametrize(
    ("kind", "status", "error_type"),
    [
        ("unauthorized", 401, "authentication_error"),
        ("rate_limited", 429, "rate_limit_error"),
        ("server_error", 500, "api_error"),
        ("overloaded", 529, "overloaded_error"),
    ],
)
def test_anthropic_error_faults(run_dir, kind, status, error_type):
    with_faults(run_dir, Fault(id=1, kind=kind, delay=7))
    f = run(answer(MockProvider(ControlReader(run_dir)), anthropic(body=MESSAGE)))
    assert f.response.status_code == status
    assert json.loads(f.response.content)["error"]["type"] == error_type
    assert f.metadata[FAULT] == kind
    if kind == "rate_limited":
        assert f.response.headers["retry-after"] == "7"


@pytest.mark.parametrize(
    ("kind", "status"),
    [("unauthorized", 401), ("rate_limited", 429), ("server_error", 500), ("overloaded", 503)],
)
def test_openai_error_faults(run_dir, kind, status):
    with_faults(run_dir, Fault(id=1, kind=kind))
    f = run(answer(MockProvider(ControlReader(run_dir)), openai(body=CHAT)))
    assert f.response.status_code == status
    assert "error" in json.loads(f.response.content)


def test_malformed_fault_is_not_json(run_dir):
    with_faults(run_dir, Fault(id=1, kind="malformed"))
    f = run(answer(MockProvider(ControlReader(run_dir)), anthropic(body=MESSAGE)))
    assert f.response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(f.response.content)


def test_fault_count_is_spent_then_replies_are_normal_again(run_dir):
    with_faults(run_dir, Fault(id=1, kind="server_error", count=2))
    addon = MockProvider(ControlReader(run_dir))
    statuses = [run(answer(addon, anthropic(body=MESSAGE))).response.status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    # Rewriting the control file (e.g. issuing a key) does not re-arm a spent fault.
    with_faults(run_dir, Fault(id=1, kind="server_error", count=2))
    assert run(answer(addon, anthropic(body=MESSAGE))).response.status_code == 200


def test_faults_apply_only_to_generation_and_to_their_provider(run_dir):
    with_faults(run_dir, Fault(id=1, kind="server_error", provider="openai"))
    addon = MockProvider(ControlReader(run_dir))
    assert run(answer(addon, anthropic(body=MESSAGE))).response.status_code == 200
    assert run(answer(addon, openai("/v1/models", method="GET"))).response.status_code == 200
    assert run(answer(addon, openai(body=CHAT))).response.status_code == 500


def test_slow_fault_answers_after_the_delay(run_dir):
    with_faults(run_dir, Fault(id=1, kind="slow", delay=0.3))
    addon = MockProvider(ControlReader(run_dir))

    async def scenario():
        f = anthropic(body=MESSAGE)
        with taddons.context(addon):
            task = asyncio.ensure_future(addon.request(f))
            await asyncio.sleep(0)
            assert f.response is None  # still waiting
            await task
        return f

    f = run(scenario())
    assert f.response.status_code == 200 and f.metadata[FAULT] == "slow"


def test_timeout_fault_holds_until_shutdown_then_drops_the_request(run_dir):
    with_faults(run_dir, Fault(id=1, kind="timeout", delay=600))
    addon = MockProvider(ControlReader(run_dir))

    async def scenario():
        f = anthropic(body=MESSAGE)
        with taddons.context(addon):
            task = asyncio.ensure_future(addon.request(f))
            await asyncio.sleep(0.05)
            assert not task.done()
            addon.done()  # the proxy is stopping
            await task
        return f

    f = run(scenario())
    assert f.response is None
    assert f.error is not None and f.error.msg == "Connection killed."
    assert f.metadata[FAULT] == "timeout"


def test_keys_issued_later_are_picked_up(tmp_path):
    addon = MockProvider(ControlReader(tmp_path))
    assert run(answer(addon, anthropic(body=MESSAGE))).response.status_code == 401
    ControlState(keys=[IssuedKey(value=ANTHROPIC_KEY, provider="anthropic")]).write(tmp_path)
    assert run(answer(addon, anthropic(body=MESSAGE))).response.status_code == 200

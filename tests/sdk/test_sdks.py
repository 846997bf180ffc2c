"""The official anthropic and openai SDKs, run as a child process through the harness, parse the mock.

The SDKs live in their own virtualenv ($BYOK_AUDIT_SDK_VENV, default <repo>/.venv-sdk, created on first
use): the current anthropic SDK needs h11 >= 0.16, which mitmproxy 11.0.2 in .venv cannot share.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from byok_audit.harness import Proxy
from byok_audit.models.canary import mint_anthropic_key, mint_openai_key
from byok_audit.targets.launcher import proxy_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).with_name("sdk_client.py")
CANARY = "BYOKRSDKCANARY42"


def _has_sdks(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", "import anthropic, openai"], capture_output=True)
    return probe.returncode == 0


@pytest.fixture(scope="session")
def sdk_python() -> Path:
    venv = Path(os.environ.get("BYOK_AUDIT_SDK_VENV", ROOT / ".venv-sdk"))
    python = venv / "bin" / "python"
    if _has_sdks(python):
        return python
    base = getattr(sys, "_base_executable", sys.executable)
    created = subprocess.run([base, "-m", "venv", str(venv)], capture_output=True, text=True)
    if created.returncode == 0:
        installed = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "anthropic", "openai"],
            capture_output=True,
            text=True,
        )
        if installed.returncode == 0 and _has_sdks(python):
            return python
        reason = installed.stderr.strip().splitlines()[-1:] or ["unknown"]
    else:
        reason = created.stderr.strip().splitlines()[-1:] or ["unknown"]
    pytest.skip(f"cannot set up the SDK virtualenv at {venv}: {reason[0]}")


def test_official_sdks_parse_the_mock_provider_plain_and_streaming(sdk_python, tmp_path):
    anthropic_key, openai_key = mint_anthropic_key(), mint_openai_key()
    with Proxy() as proxy:
        proxy.issue_keys(anthropic_key, provider="anthropic")
        proxy.issue_keys(openai_key, provider="openai")
        proxy.set_response_canary(CANARY)
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "AUDIT_ANTHROPIC_KEY": anthropic_key,
            "AUDIT_OPENAI_KEY": openai_key,
            **proxy_env(proxy.url, proxy.ca_cert_path),
        }
        run = subprocess.run(
            [str(sdk_python), str(CLIENT)], env=env, capture_output=True, text=True, timeout=120
        )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout)

    plain = results["anthropic_plain"]
    assert CANARY in plain["text"] and plain["model"] == "claude-haiku-4-5"
    assert plain["stop_reason"] == "end_turn" and plain["output_tokens"] > 0
    stream = results["anthropic_stream"]
    assert len(stream["pieces"]) > 3 and "".join(stream["pieces"]) == stream["final_text"]
    assert CANARY in stream["final_text"] and stream["stop_reason"] == "end_turn"
    assert stream["output_tokens"] == len(stream["pieces"])
    assert results["anthropic_raw_events"][0] == "message_start"
    assert results["anthropic_raw_events"][-1] == "message_stop"
    assert results["anthropic_count_tokens"] > 0
    assert "claude-haiku-4-5" in results["anthropic_models"]
    assert results["anthropic_bad_key"]["status"] == 401
    assert results["anthropic_bad_key"]["body"]["error"]["type"] == "authentication_error"

    assert CANARY in results["openai_plain"]["text"]
    assert results["openai_plain"]["model"] == "gpt-4o-mini"
    assert results["openai_plain"]["finish_reason"] == "stop"
    assert results["openai_stream"]["text"] == results["openai_plain"]["text"]
    assert results["openai_stream"]["finish_reasons"][-1] == "stop"
    assert results["openai_stream"]["usage_total"] > 0
    assert results["openai_stream_helper"] == results["openai_plain"]["text"]
    assert "gpt-4o-mini" in results["openai_models"]
    assert results["openai_bad_key"] == {"status": 401, "code": "invalid_api_key"}

    # Everything the SDKs sent went to the provider hosts over TLS and was answered by the mock.
    exchanges = proxy.exchanges()
    assert exchanges and all(e.kind == "http" and e.tls for e in exchanges)
    assert {e.host for e in exchanges} == {"api.anthropic.com", "api.openai.com"}
    assert {e.answered_by for e in exchanges} == {"mock_provider"}
    anthropic_calls = [e for e in exchanges if e.host == "api.anthropic.com"]
    assert all(e.request_header("anthropic-version") for e in anthropic_calls)

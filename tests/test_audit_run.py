"""AuditRun end to end with real processes on loopback: the fake target behind the real proxy."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from byok_audit.audit_run import AuditRun
from byok_audit.errors import HarnessError, RequestTimeout, TargetExited, TargetNotReady
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.targets.profile import load_profile
from tests.harness.fake import write_profile

pytestmark = pytest.mark.e2e


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def assert_nothing_left(run: AuditRun) -> None:
    if run.target is not None:
        assert not alive(run.target.record.pid)
    if run.proxy is not None:
        assert not alive(run.proxy.pid)
        assert port_free(run.proxy.port)
    if "port" in run.values:
        assert port_free(run.values["port"])
    assert run.workdir is None or not run.workdir.exists()


def test_leaky_target_telemetry_and_router_calls_are_captured_not_forwarded(tmp_path):
    profile = load_profile(write_profile(tmp_path, "--leak"))
    with AuditRun(profile) as run:
        run.create_user("alice")
        put = run.put_key("alice", "key-alice-1")
        prompt = run.prompt("alice")
        bundle = run.finish()
    assert_nothing_left(run)

    key = bundle.canaries.get("key-alice-1").value
    prompt_text = bundle.canaries.get("prompt").value
    response_text = bundle.canaries.get("response").value
    by_host = {e.host: e for e in bundle.exchanges}
    assert set(by_host) == {"o123.ingest.sentry.io", "openrouter.ai", "api.anthropic.com"}

    sentry = by_host["o123.ingest.sentry.io"]
    assert (sentry.method, sentry.path, sentry.tls) == ("POST", "/api/1/envelope/", True)
    assert prompt_text in sentry.request_body.decode()
    assert sentry.answered_by == "sink" and sentry.response_body == b'{"ok":true}'

    router = by_host["openrouter.ai"]
    assert router.request_header("authorization") == f"Bearer {key}"
    assert prompt_text in router.request_body.decode()
    assert router.answered_by == "sink"

    provider = by_host["api.anthropic.com"]
    assert provider.request_header("x-api-key") == key
    assert provider.answered_by == "mock_provider"
    assert response_text in prompt.calls[0].response_body.decode()

    # Nothing was forwarded: no connection attempt reached the blocker.
    assert not [e for e in bundle.exchanges if e.kind == "blocked" or e.answered_by == "blocked"]
    # Exchanges are attributed to the step that caused them.
    assert sorted(prompt.exchange_ids) == sorted(e.id for e in bundle.exchanges)
    assert put.exchange_ids == []
    assert {e.client_pid for e in bundle.exchanges} == {bundle.process.pid}


def test_bundle_has_steps_files_process_and_round_trips(tmp_path):
    profile = load_profile(write_profile(tmp_path))
    with AuditRun(profile, scenario="smoke") as run:
        run.create_user("alice")
        run.put_key("alice", "key-alice-1")
        run.prompt("alice", stream=True)
        run.delete_key("alice")
        refused = run.prompt("alice")
        bundle = run.finish()
    assert [s.action for s in bundle.steps] == [
        "create_user",
        "put_key",
        "prompt",
        "delete_key",
        "prompt",
    ]
    assert bundle.steps[1].params == {"key": "key-alice-1"}
    assert bundle.steps[2].params["stream"] is True
    assert b"event: message_stop" in bundle.steps[2].calls[0].response_body
    assert refused.outcome == "refused" and refused.exchange_ids == []
    assert bundle.scenarios == ["smoke"]
    assert bundle.process.crashed is False and bundle.process.pid
    assert bundle.harness.engine == "mitmproxy 11.0.2"
    assert bundle.target.name == "fake-target"
    kinds = {f.kind: f for f in bundle.files}
    assert b"POST /api/v1/messages" in kinds["log"].content
    assert b"fake target listening" in kinds["stderr"].content
    key = bundle.canaries.get("key-alice-1").value
    saved = tmp_path / "bundle.json"
    bundle.save(saved)
    assert key not in saved.read_text()
    assert EvidenceBundle.load(saved) == bundle


def test_custom_steps_record_calls_and_errors(tmp_path):
    profile = load_profile(write_profile(tmp_path))
    with AuditRun(profile) as run:
        run.create_user("alice")
        with run.step("probe", user="alice", note="custom") as step:
            run.driver.request("GET", "/healthz")
            step.data["checked"] = True
        with pytest.raises(HarnessError), run.step("broken"):
            run.driver.request("GET", "/healthz")
            raise HarnessError("something below HTTP failed")
        bundle = run.finish()
    probe, broken = bundle.steps[1:]
    assert probe.params == {"note": "custom"} and probe.data == {"checked": True}
    assert [c.status for c in probe.calls] == [200]
    assert probe.started <= probe.ended
    assert broken.outcome == "error" and "below HTTP" in broken.note


def test_given_workdir_is_kept(tmp_path):
    profile = load_profile(write_profile(tmp_path))
    workdir = tmp_path / "work"
    with AuditRun(profile, workdir=workdir) as run:
        run.create_user("alice")
        run.finish()
    assert run.target_workdir == workdir / "target"
    assert (workdir / "target" / "fake.log").exists()
    assert (workdir / "proxy" / "exchanges.jsonl").exists()
    assert not alive(run.proxy.pid)


@pytest.mark.parametrize(
    ("flag", "error", "message"),
    [
        ("--never-ready", TargetNotReady, "did not answer"),
        ("--exit-at-once", TargetExited, "exited with code 3"),
    ],
)
def test_target_that_never_starts_is_a_harness_error_with_nothing_left(
    tmp_path, flag, error, message
):
    profile = load_profile(
        write_profile(tmp_path, flag, replace={"ready_timeout = 20": "ready_timeout = 2"})
    )
    run = AuditRun(profile)
    with pytest.raises(error, match=message):
        run.start()
    assert run.target is not None and run.target.record.pid is not None
    assert_nothing_left(run)


def test_request_hanging_past_its_timeout_ends_the_run_cleanly(tmp_path):
    profile = load_profile(
        write_profile(
            tmp_path, "--hang-on-prompt", replace={"request_timeout = 20": "request_timeout = 1"}
        )
    )
    with (
        pytest.raises(RequestTimeout, match="did not complete within 1s"),
        AuditRun(profile) as run,
    ):
        run.create_user("alice")
        run.put_key("alice", "key-alice-1")
        run.prompt("alice")
    assert run.steps[-1].outcome == "error"
    assert "timeout" in (run.steps[-1].calls[0].error or "")
    assert_nothing_left(run)


def test_bundle_json_names_no_raw_key(tmp_path):
    profile = load_profile(write_profile(tmp_path, "--leak"))
    with AuditRun(profile) as run:
        run.create_user("bob")
        run.put_key("bob", "key-bob-1")
        run.prompt("bob")
        text = run.finish().dumps()
    assert "⟦canary:key-bob-1⟧" in text
    assert json.loads(text)["canaries"]["canaries"]


def test_restart_keeps_state_and_records_the_new_process(tmp_path):
    profile = load_profile(write_profile(tmp_path))
    with AuditRun(profile) as run:
        first = run.target.pid
        run.create_user("alice")
        restart = run.restart_target()
        assert not alive(first) and run.target.pid != first
        key = run.mint_key("key-alice-9", "alice")
        run.create_user("alice")  # the fake target keeps users in memory
        run.put_key("alice", "key-alice-9")
        prompt = run.prompt("alice")
        bundle = run.finish()
    assert restart.action == "restart" and restart.outcome == "ok"
    assert bundle.process.restarts == 1 and bundle.process.crashed is False
    [exchange] = bundle.exchanges_of(prompt)
    assert exchange.request_header("x-api-key") == key
    assert exchange.client_pid == bundle.process.pid


@pytest.mark.parametrize("truncate", [True, False], ids=["truncating", "appending"])
def test_a_log_truncated_by_a_restart_keeps_its_earlier_copy(tmp_path, truncate):
    flags = ["--truncate-log"] if truncate else []
    profile = load_profile(write_profile(tmp_path, *flags))
    with AuditRun(profile) as run:
        run.create_user("alice")
        run.restart_target()
        run.create_user("bob")
        bundle = run.finish()
    logs = {f.name: f.content for f in bundle.files if f.kind == "log"}
    earlier = "fake.log (before restart 1)"
    if truncate:
        assert set(logs) == {"fake.log", earlier}
        assert b"/signup" in logs[earlier] and logs["fake.log"].count(b"/signup") == 1
    else:
        assert set(logs) == {"fake.log"}  # the appended log still holds everything
        assert logs["fake.log"].count(b"/signup") == 2


def test_an_exchange_belongs_to_the_last_step_that_started_before_it():
    from byok_audit.audit_run import attribute
    from tests import builders as b

    prompt = b.step("prompt", 0, started=10.0, ended=10.5)
    idle = b.step("idle", 1, started=11.0, ended=15.0)
    during = b.exchange(id=1, started=10.2)
    after_reply = b.exchange(id=2, started=10.7)  # a background call fired after the reply
    while_idle = b.exchange(id=3, started=12.0)
    before_any = b.exchange(id=4, started=5.0)
    attribute([idle, prompt], [during, after_reply, while_idle, before_any])
    assert prompt.exchange_ids == [1, 2]
    assert idle.exchange_ids == [3]


def test_a_target_that_fails_its_first_start_is_started_again_on_another_port(tmp_path):
    profile = load_profile(write_profile(tmp_path, "--exit-once", "{workdir}/exited-once"))
    with AuditRun(profile) as run:
        run.create_user("alice")
        bundle = run.finish()
    assert bundle.steps[0].outcome == "ok"
    [note] = bundle.errors
    assert "exited while starting (attempt 1)" in note and "Address already in use" in note

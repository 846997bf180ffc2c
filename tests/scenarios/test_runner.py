"""The scenario runner on a real (fake) target behind the real proxy: steps recorded, failures kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from byok_audit.audit_run import AuditRun
from byok_audit.scenarios.model import Scenario
from byok_audit.scenarios.runner import run_scenarios
from byok_audit.targets.profile import load_profile
from tests.harness.fake import write_profile

pytestmark = pytest.mark.e2e


def scenario(name: str, *steps: dict) -> Scenario:
    return Scenario.model_validate(
        {"id": name, "title": name, "description": name, "feeds": [], "steps": list(steps)}
    )


def test_scenarios_get_their_own_users_and_a_step_that_cannot_run_is_recorded_not_fatal(
    tmp_path: Path,
) -> None:
    profile = load_profile(write_profile(tmp_path))  # declares no [database]
    first = scenario(
        "one",
        {"action": "create_user", "user": "alice"},
        {"action": "put_key", "user": "alice", "key": "k"},
        {"action": "snapshot", "label": "after-put"},
        {"action": "prompt", "user": "alice", "max_tokens": 16},
    )
    second = scenario("two", {"action": "create_user", "user": "alice"})
    with AuditRun(profile) as run:
        bundle = run_scenarios(run, [first, second])
    assert bundle.scenarios == ["one", "two"]
    assert [(s.scenario, s.action, s.user) for s in bundle.steps] == [
        ("one", "create_user", "one.alice"),
        ("one", "put_key", "one.alice"),
        ("one", "snapshot", None),
        ("one", "prompt", "one.alice"),
        ("two", "create_user", "two.alice"),
    ]
    snapshot = bundle.steps[2]
    assert snapshot.outcome == "error" and "no [database]" in snapshot.note
    assert any("one step 3 (snapshot)" in e for e in bundle.errors)
    prompt = bundle.steps[3]
    assert prompt.outcome == "ok" and prompt.data["key"] == "one.k"
    assert prompt.params["model"] == "claude-haiku-4-5" and prompt.params["max_tokens"] == 16
    [upstream] = bundle.exchanges_of(prompt)
    assert upstream.request_header("x-api-key") == bundle.canaries.get("one.k").value


def test_an_armed_fault_is_recorded_on_the_prompt_it_hits(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path))
    steps = scenario(
        "faulty",
        {"action": "create_user", "user": "alice"},
        {"action": "put_key", "user": "alice", "key": "k"},
        {"action": "fault", "kind": "rate_limited"},
        {"action": "prompt", "user": "alice", "expect": "refused"},
        {"action": "prompt", "user": "alice"},
    )
    with AuditRun(profile) as run:
        bundle = run_scenarios(run, [steps])
    faulted, after = bundle.steps[3], bundle.steps[4]
    assert faulted.data["fault"] == "rate_limited" and after.data["fault"] is None
    [limited] = bundle.exchanges_of(faulted)
    assert limited.response_status == 429
    [fine] = bundle.exchanges_of(after)
    assert fine.response_status == 200

"""ENC-06 on hand-made bundles: alice's record moved into bob's row, then bob prompts."""

from __future__ import annotations

from byok_audit.checks.enc.bound_to_owner import bound_to_owner
from byok_audit.models.finding import Status
from tests.checks.enc.keystory import Story


def moved() -> Story:
    story = Story()
    story.put("alice", "ka")
    story.put("bob", "kb")
    story.snap("before")
    story.transplant("alice", "bob")
    story.snap("after")
    return story


def test_refused_for_bob_passes() -> None:
    story = moved()
    story.prompt("bob", status=500)
    result = bound_to_owner.run(story.bundle())
    assert result.status == Status.PASS
    assert "moved records refused" in result.summary


def test_bob_spending_alices_key_fails() -> None:
    story = moved()
    story.prompt("bob", story.upstream(story.canaries.get("ka").value))
    result = bound_to_owner.run(story.bundle())
    assert result.status == Status.FAIL
    assert "moving alice's record into bob's row" in result.evidence[0].detail
    assert "key:ka" in result.evidence[0].detail


def test_something_else_derived_from_the_record_fails() -> None:
    story = moved()
    story.prompt("bob", story.upstream("sk-ant-api03-garbage"))
    result = bound_to_owner.run(story.bundle())
    assert result.status == Status.FAIL
    assert "an unknown value" in result.evidence[0].detail


def test_bob_still_using_his_own_key_warns() -> None:
    story = moved()
    story.prompt("bob", story.upstream(story.canaries.get("kb").value))
    result = bound_to_owner.run(story.bundle())
    assert result.status == Status.WARN
    assert "never read" in result.summary


def test_missing_transplant_or_names_is_an_error() -> None:
    story = Story()
    story.put("alice", "ka")
    assert bound_to_owner.run(story.bundle()).status == Status.ERROR
    story.step("transplant", params={"from_user": "alice"})
    result = bound_to_owner.run(story.bundle())
    assert result.status == Status.ERROR
    assert "does not name from_user and to_user" in result.summary

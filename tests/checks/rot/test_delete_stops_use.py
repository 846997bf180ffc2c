"""ROT-02 on hand-made bundles: alice deletes her key, then prompts."""

from __future__ import annotations

from byok_audit.checks.rot.delete_stops_use import delete_stops_use
from byok_audit.models.finding import Status
from tests.checks.enc.keystory import Story


def deleted(status: int = 204) -> Story:
    story = Story()
    key = story.put("alice", "k1")
    story.prompt("alice", story.upstream(key.value))
    story.delete("alice", status=status)
    return story


def test_clear_refusal_with_nothing_upstream_passes() -> None:
    story = deleted()
    story.prompt("alice", status=400)
    result = delete_stops_use.run(story.bundle())
    assert result.status == Status.PASS
    assert "1 delete(s), prompts afterwards answered 400" in result.summary


def test_deleted_key_still_sent_fails() -> None:
    story = deleted()
    story.prompt("alice", story.upstream(story.canaries.get("k1").value))
    result = delete_stops_use.run(story.bundle())
    assert result.status == Status.FAIL
    details = [e.detail for e in result.evidence]
    assert "reached the provider with key:k1" in details[0]
    assert "answered 200 after step 2 (delete_key by alice)" in details[1]


def test_idle_use_of_the_deleted_key_fails() -> None:
    story = deleted()
    story.prompt("alice", status=404)
    story.idle(story.upstream(story.canaries.get("k1").value))
    result = delete_stops_use.run(story.bundle())
    assert result.status == Status.FAIL
    detail = result.evidence[0].detail
    assert detail.startswith("the deleted key key:k1 (") and "was used after step 2" in detail


def test_server_error_instead_of_4xx_warns() -> None:
    story = deleted()
    story.prompt("alice", status=500)
    assert delete_stops_use.run(story.bundle()).status == Status.WARN


def test_refused_delete_leaves_the_key_working_and_fails() -> None:
    story = deleted(status=403)
    story.prompt("alice", story.upstream(story.canaries.get("k1").value))
    assert delete_stops_use.run(story.bundle()).status == Status.FAIL


def test_missing_delete_or_prompt_is_an_error() -> None:
    story = Story()
    story.put("alice", "k1")
    assert delete_stops_use.run(story.bundle()).status == Status.ERROR
    result = delete_stops_use.run(deleted().bundle())
    assert result.status == Status.ERROR
    assert "no prompt by alice after step 2" in result.summary

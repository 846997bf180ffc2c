"""ROT-01 on hand-made bundles: alice replaces k1 by k2, then prompts."""

from __future__ import annotations

from byok_audit.checks.rot.replace_takes_effect import replace_takes_effect
from byok_audit.models.finding import Status
from tests.checks.enc.keystory import Story


def story_with(*, prompt_key: str, idle_key: str | None = None) -> Story:
    story = Story()
    k1 = story.put("alice", "k1")
    story.prompt("alice", story.upstream(k1.value))
    story.put("alice", "k2")
    story.prompt("alice", story.upstream(story.canaries.get(prompt_key).value))
    if idle_key:
        story.idle(story.upstream(story.canaries.get(idle_key).value))
    return story


def test_new_key_only_passes() -> None:
    result = replace_takes_effect.run(story_with(prompt_key="k2").bundle())
    assert result.status == Status.PASS
    assert "1 replace(s), 1 later prompt(s) checked" in result.summary


def test_stale_key_after_replace_fails() -> None:
    result = replace_takes_effect.run(story_with(prompt_key="k1").bundle())
    assert result.status == Status.FAIL
    details = " ".join(e.detail for e in result.evidence)
    assert "instead of key:k2" in details and "sent key:k1" in details


def test_old_key_in_an_idle_window_fails() -> None:
    result = replace_takes_effect.run(story_with(prompt_key="k2", idle_key="k1").bundle())
    assert result.status == Status.FAIL
    assert "the replaced key key:k1" in result.evidence[0].detail


def test_old_key_outside_any_step_fails() -> None:
    story = story_with(prompt_key="k2")
    story.upstream(story.canaries.get("k1").value, started=story.steps[-1].ended + 30)
    result = replace_takes_effect.run(story.bundle())
    assert result.status == Status.FAIL


def test_another_holder_of_the_old_key_may_use_it() -> None:
    story = Story()
    k1 = story.put("alice", "k1")
    story.put("bob", "k1")
    story.put("alice", "k2")
    story.prompt("alice", story.upstream(story.canaries.get("k2").value))
    story.prompt("bob", story.upstream(k1.value))
    assert replace_takes_effect.run(story.bundle()).status == Status.PASS


def test_no_replace_or_no_prompt_is_an_error() -> None:
    story = Story()
    story.put("alice", "k1")
    assert replace_takes_effect.run(story.bundle()).status == Status.ERROR
    story.put("alice", "k2")
    result = replace_takes_effect.run(story.bundle())
    assert result.status == Status.ERROR
    assert "no prompt by alice after step 1 (put_key by alice)" in result.summary


def test_a_transplant_into_the_users_row_ends_the_window() -> None:
    story = story_with(prompt_key="k2")
    story.put("bob", "kb")
    story.rows.setdefault("alice", [0, b"alice", b"", b"", 0, None])
    story.transplant("bob", "alice")
    story.prompt("alice", story.upstream(story.canaries.get("kb").value))  # ENC-06's business
    assert replace_takes_effect.run(story.bundle()).status == Status.PASS

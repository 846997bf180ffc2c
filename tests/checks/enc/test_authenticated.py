"""ENC-05 on hand-made bundles: a tamper step, then the user's prompt."""

from __future__ import annotations

import base64

from byok_audit.checks.enc.authenticated import authenticated
from byok_audit.models.finding import Status
from tests.checks.enc.keystory import Story


def tampered() -> Story:
    story = Story()
    story.put("alice", "k1")
    story.snap("after-put")
    story.tamper("alice")
    story.snap("after-tamper")
    return story


def test_refused_prompt_with_nothing_upstream_passes() -> None:
    story = tampered()
    story.prompt("alice", status=502)
    result = authenticated.run(story.bundle())
    assert result.status == Status.PASS
    assert "1 tamper step(s): step 4 (prompt by alice) answered 502" in result.summary


def test_fallback_to_a_garbled_key_fails_with_its_fingerprint() -> None:
    story = tampered()
    key = story.canaries.get("k1").value
    garbled = key[:20] + ("x" if key[20] != "x" else "y") + key[21:]
    story.prompt("alice", story.upstream(garbled), status=401)
    result = authenticated.run(story.bundle())
    assert result.status == Status.FAIL
    assert "reached the provider with an unknown value #" in result.evidence[0].detail
    assert garbled not in result.model_dump_json()


def test_empty_key_and_the_record_itself_are_named() -> None:
    story = tampered()
    record = story.rows["alice"][2]
    story.prompt("alice", story.upstream(""), story.upstream(base64.b64encode(record).decode()))
    details = [e.detail for e in authenticated.run(story.bundle()).evidence]
    assert "with an empty key" in details[0]
    assert "with the stored record itself (as written by step 2 (tamper by alice))" in details[1]


def test_original_key_from_a_cache_fails() -> None:
    story = tampered()
    story.prompt("alice", story.upstream(story.canaries.get("k1").value))
    result = authenticated.run(story.bundle())
    assert result.status == Status.FAIL
    assert "key:k1" in result.evidence[0].detail


def test_accepted_without_upstream_fails() -> None:
    story = tampered()
    story.prompt("alice", status=200)
    result = authenticated.run(story.bundle())
    assert result.status == Status.FAIL
    assert "answered 200 (accepted the prompt)" in result.evidence[0].detail


def test_missing_tamper_or_prompt_is_an_error() -> None:
    story = Story()
    story.put("alice", "k1")
    story.prompt("alice", status=400)
    assert authenticated.run(story.bundle()).status == Status.ERROR
    result = authenticated.run(tampered().bundle())
    assert result.status == Status.ERROR
    assert "no prompt by alice after step 2 (tamper by alice)" in result.summary

"""ROT-05 on hand-made bundles: replace, get, delete, get through the target's API."""

from __future__ import annotations

import json

from byok_audit.checks.rot.self_service import self_service
from byok_audit.models.finding import Status
from tests.checks.enc.keystory import Story


def shown(story: Story, key_id: str) -> bytes:
    return json.dumps({"last4": story.canaries.get(key_id).value[-4:]}).encode()


def lifecycle(
    *, replace: int = 200, delete: int = 204, after_replace: str = "k2", after_delete: int = 404
) -> Story:
    story = Story()
    story.put("alice", "k1")
    story.put("alice", "k2", status=replace)
    story.get("alice", body=shown(story, after_replace) if after_replace else b"{}")
    story.delete("alice", status=delete)
    story.get("alice", status=after_delete, body=shown(story, "k2") if after_delete < 300 else b"")
    return story


def test_replace_and_delete_confirmed_pass() -> None:
    result = self_service.run(lifecycle().bundle())
    assert result.status == Status.PASS, result.evidence
    assert "1 replace(s) and 1 delete(s) through the API" in result.summary


def test_refused_replace_fails() -> None:
    result = self_service.run(lifecycle(replace=403, after_replace="k1").bundle())
    assert result.status == Status.FAIL
    assert "replace refused (403)" in result.evidence[0].detail


def test_refused_delete_fails() -> None:
    result = self_service.run(lifecycle(delete=405, after_delete=200).bundle())
    assert result.status == Status.FAIL
    assert "delete refused (405)" in result.evidence[0].detail


def test_replace_without_effect_fails() -> None:
    story = lifecycle(after_replace="k1")
    k1, k2 = (story.canaries.get(k).value[-4:] for k in ("k1", "k2"))
    result = self_service.run(story.bundle())
    if k1 == k2:  # one chance in 4096: the suffixes cannot tell the keys apart
        assert result.status == Status.PASS
    else:
        assert result.status == Status.FAIL
        assert "still shows the replaced key's suffix" in result.evidence[0].detail


def test_deleted_key_still_shown_fails_and_unconfirmed_warns() -> None:
    result = self_service.run(lifecycle(after_delete=200).bundle())
    assert result.status == Status.FAIL
    assert "still showing the deleted key" in result.evidence[0].detail
    assert self_service.run(lifecycle(after_replace="").bundle()).status == Status.WARN


def test_no_get_after_the_change_is_an_error() -> None:
    story = Story()
    story.put("alice", "k1")
    story.put("alice", "k2")
    story.delete("alice")
    result = self_service.run(story.bundle())
    assert result.status == Status.ERROR
    assert "no get_key by alice after step 1" in result.summary


def test_a_compressed_get_reply_is_read_decoded() -> None:
    import gzip

    story = Story()
    story.put("alice", "k1")
    story.put("alice", "k2")
    reply = story.get("alice", body=gzip.compress(shown(story, "k1")))
    reply.calls[0].response_headers = [("content-encoding", "gzip")]
    story.delete("alice")
    story.get("alice", status=404)
    k1, k2 = (story.canaries.get(k).value[-4:] for k in ("k1", "k2"))
    result = self_service.run(story.bundle())
    if k1 != k2:  # the gzip'd reply still shows the replaced key: only a decoded read sees that
        assert result.status == Status.FAIL
        assert "still shows the replaced key's suffix" in result.evidence[0].detail

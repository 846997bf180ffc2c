import gzip
import json

from byok_audit.checks.api.cross_user_isolation import cross_user_isolation
from byok_audit.models.canary import CanaryTable
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
ALICE = TABLE.key("alice", "alice")
BOB = TABLE.key("bob", "bob")


def shown(key, fingerprint="fp-alice-01"):
    body = json.dumps({"fingerprint": fingerprint, "last4": key.value[-4:]}).encode()
    return [b.call("GET", "http://t/api/v1/claude-key", response_body=body)]


def upstream(key):
    return b.exchange(request_headers=[("x-api-key", key.value)])


def scenario(
    *, bob_sees=None, bob_prompt=None, alice_after=None, alice_prompt=None, alice_shown=None
):
    """alice stores and reads her key; bob reads, uses, deletes and replaces it; alice checks."""
    alice_prompt = alice_prompt or upstream(ALICE)
    exchanges = [alice_prompt] + ([bob_prompt] if bob_prompt else [])
    steps = [
        b.step("put_key", 0, user="alice", params={"key": "alice"}),
        b.step("get_key", 1, user="alice", calls=alice_shown or shown(ALICE)),
        b.step(
            "get_key",
            2,
            user="bob",
            params={"against": "alice"},
            calls=bob_sees or [b.call("GET", "http://t/k", status=404, response_body=b"{}")],
        ),
        b.step(
            "prompt",
            3,
            user="bob",
            params={"against": "alice"},
            outcome="ok" if bob_prompt else "refused",
            exchange_ids=[bob_prompt.id] if bob_prompt else [],
        ),
        b.step("delete_key", 4, user="bob", params={"against": "alice"}),
        b.step("put_key", 5, user="bob", params={"key": "bob", "against": "alice"}),
        b.step("get_key", 6, user="alice", calls=alice_after or shown(ALICE)),
        b.step("prompt", 7, user="alice", exchange_ids=[alice_prompt.id]),
    ]
    return cross_user_isolation.run(b.bundle(canaries=TABLE, steps=steps, exchanges=exchanges))


def test_isolated_users_pass():
    result = scenario()
    assert result.status == Status.PASS
    assert "4 cross-user attempts" in result.summary


def test_bob_reading_alices_fingerprint_fails():
    result = scenario(
        bob_sees=[b.call("GET", "http://t/k", response_body=b'{"fp": "fp-alice-01"}')]
    )
    assert result.status == Status.FAIL
    assert "identifying" in result.evidence[0].detail


def test_bob_seeing_alices_suffix_fails():
    assert scenario(bob_sees=shown(ALICE, "other")).status == Status.FAIL


def test_bob_prompting_with_alices_key_fails():
    result = scenario(bob_prompt=upstream(ALICE))
    assert result.status == Status.FAIL
    assert "step 3" in result.evidence[0].ref


def test_bob_deleting_alices_key_fails():
    gone = [b.call("GET", "http://t/k", status=404, response_body=b"{}")]
    refused = b.exchange(request_headers=[])
    steps_result = scenario(alice_after=gone, alice_prompt=refused)
    assert steps_result.status == Status.FAIL


def test_bob_replacing_alices_key_fails():
    result = scenario(alice_after=shown(BOB), alice_prompt=upstream(BOB))
    assert result.status == Status.FAIL
    assert any("used" in e.detail and "bob" in e.detail for e in result.evidence)


def test_no_cross_user_step_is_an_error():
    bundle = b.bundle(canaries=TABLE, steps=[b.step("get_key", 0, user="alice")])
    assert cross_user_isolation.run(bundle).status == Status.ERROR


def test_attack_without_a_later_victim_step_is_an_error():
    steps = [
        b.step("put_key", 0, user="alice", params={"key": "alice"}),
        b.step("delete_key", 1, user="bob", params={"against": "alice"}),
    ]
    result = cross_user_isolation.run(b.bundle(canaries=TABLE, steps=steps))
    assert result.status == Status.ERROR
    assert "no later own get_key or prompt" in result.summary


def gzipped(call):
    return call.model_copy(
        update={
            "response_body": gzip.compress(call.response_body),
            "response_headers": [("Content-Encoding", "gzip")],
        }
    )


def test_bob_reading_alices_fingerprint_in_compressed_replies_fails():
    sees = gzipped(b.call("GET", "http://t/k", response_body=b'{"fp": "fp-alice-01"}'))
    result = scenario(bob_sees=[sees], alice_shown=[gzipped(c) for c in shown(ALICE)])
    assert result.status == Status.FAIL
    assert "identifying" in result.evidence[0].detail


def test_bob_seeing_alices_suffix_in_a_compressed_reply_fails():
    assert scenario(bob_sees=[gzipped(c) for c in shown(ALICE, "other")]).status == Status.FAIL


def answered(status=200):
    return [b.call("POST", "http://t/api/v1/messages", status=status, response_body=b"{}")]


def test_keyless_bob_getting_an_answer_against_alice_fails_without_upstream_evidence():
    steps = [
        b.step("put_key", 0, user="alice", params={"key": "alice"}),
        b.step("prompt", 1, user="bob", params={"against": "alice"}, calls=answered()),
        b.step("get_key", 2, user="alice", calls=shown(ALICE)),
    ]
    result = cross_user_isolation.run(b.bundle(canaries=TABLE, steps=steps))
    assert result.status == Status.FAIL
    assert "holds no key of their own" in result.evidence[0].detail


def test_bob_with_his_own_key_answered_with_it_passes():
    own = upstream(BOB)
    steps = [
        b.step("put_key", 0, user="alice", params={"key": "alice"}),
        b.step("put_key", 1, user="bob", params={"key": "bob"}),
        b.step(
            "prompt",
            2,
            user="bob",
            params={"against": "alice"},
            calls=answered(),
            exchange_ids=[own.id],
        ),
    ]
    result = cross_user_isolation.run(b.bundle(canaries=TABLE, steps=steps, exchanges=[own]))
    assert result.status == Status.PASS


def test_keyless_bob_refused_against_alice_passes():
    steps = [
        b.step("put_key", 0, user="alice", params={"key": "alice"}),
        b.step(
            "prompt",
            1,
            user="bob",
            params={"against": "alice"},
            calls=answered(404),
            outcome="refused",
        ),
    ]
    assert cross_user_isolation.run(b.bundle(canaries=TABLE, steps=steps)).status == Status.PASS

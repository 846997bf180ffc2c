"""The flawed variants: each flaw module really has the weakness it names, and the list of flaws,
``byok-ref flaws`` and reference_impl/variants.toml agree.

The detection matrix (tests/test_matrix.py) proves the checks catch them end to end; these tests prove
the mechanism in the component itself, with real crypto and real SQLite files.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from byok_audit.matrix import load_variants
from reference_impl.apikey import ApiKey
from reference_impl.app import Components, build_components, create_app
from reference_impl.cli import main
from reference_impl.crypto import RecordAuthenticationError, RecordCipher, RecordContext
from reference_impl.flaws import FLAWS, FlawError, resolve, unsafe_environment, wrap_app
from reference_impl.flaws.base import UpstreamWrapper
from reference_impl.flaws.cipher_static_nonce import STATIC_NONCE
from reference_impl.flaws.logger_silent import SilentRequestLogger
from reference_impl.flaws.upstream_aggregator import router_payload
from reference_impl.flaws.upstream_duplicate import RetryWithoutBreakUpstream
from reference_impl.flaws.upstream_error_logging import log_failed_request
from reference_impl.flaws.upstream_idle_pinger import KeepWarmUpstream
from reference_impl.flaws.upstream_key_echo import KeyEchoUpstream
from reference_impl.flaws.upstream_max_tokens import InflatingUpstream
from reference_impl.flaws.upstream_model_substitution import CheapModelUpstream
from reference_impl.flaws.upstream_prompt_logging import InteractionLoggingUpstream
from reference_impl.flaws.upstream_response_logging import ResponseLoggingUpstream
from reference_impl.flaws.upstream_telemetry import envelope
from reference_impl.keyring import Keyring, generate_entry, parse_keyring
from reference_impl.logs import JsonLineFormatter, RedactionFilter, RequestMeta
from reference_impl.settings import Settings
from reference_impl.store import StoredKey, utc_now
from reference_impl.upstream import UpstreamError, UpstreamReply, Usage
from tests.reference_impl.support import canary_key, db_file_bytes, residue

REPO = Path(__file__).resolve().parents[2]
ALICE = RecordContext("alice-id", "anthropic")
BOB = RecordContext("bob-id", "anthropic")


@pytest.fixture
def keyring() -> Keyring:
    return parse_keyring(generate_entry())


def components(tmp_path: Path, keyring: Keyring, *names: str) -> Components:
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings = Settings(db=str(tmp_path / "byok.sqlite3"), upstream_timeout_s=5)
    return build_components(settings, keyring, resolve(names))


def stored(c: Components, user_id: str, key: str) -> StoredKey:
    """Seal ``key`` for ``user_id`` with the variant's cipher and put it in its store."""
    context = RecordContext(user_id, "anthropic")
    record = c.cipher.encrypt(key.encode(), context)
    now = utc_now()
    row = StoredKey(
        user_id=user_id,
        provider="anthropic",
        master_key_id=c.cipher.master_key_id(record),
        record=record,
        last4=key[-4:],
        fingerprint=c.fingerprinter.fingerprint(key.encode(), context),
        created_at=now,
        updated_at=now,
    )
    c.keys.put(row)
    return row


def add_users(c: Components, *names: str) -> list[str]:
    return [c.users.add(name, hashlib.sha256(name.encode()).digest()).user_id for name in names]


def table(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{tmp_path / 'byok.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def flip(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


# -- the registry, the CLI and variants.toml ------------------------------------------------------------


def test_variants_file_and_flaws_command_agree() -> None:
    listed = CliRunner().invoke(main, ["flaws"])
    assert listed.exit_code == 0, listed.output
    names = {line.split()[0] for line in listed.output.splitlines()}
    variants = load_variants(REPO / "reference_impl" / "variants.toml")
    assert names == set(FLAWS) == {v.name for v in variants}
    for variant in variants:
        assert variant.args == ["--flaw", variant.name]
        assert FLAWS[variant.name].summary in listed.output


def test_resolve_refuses_unknown_names_and_two_flaws_on_one_component() -> None:
    with pytest.raises(FlawError, match="unknown flaw"):
        resolve(["no-such-flaw"])
    with pytest.raises(FlawError, match="both swap the cipher"):
        resolve(["plaintext-storage", "static-nonce"])
    assert [f.name for f in resolve(["soft-delete", "log-prompts"])] == [
        "soft-delete",
        "log-prompts",
    ]


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({}, "HTTPS_PROXY is not set"),
        (
            {"HTTPS_PROXY": "http://proxy.example:3128", "HTTP_PROXY": "x", "ALL_PROXY": "x"},
            "HTTPS_PROXY does not point at a loopback proxy",
        ),
    ],
)
def test_serve_refuses_a_flaw_unless_every_proxy_is_loopback(env: dict[str, str], why: str) -> None:
    cleared: dict[str, str | None] = {
        name: None
        for base in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
        for name in (base, base.lower())
    }
    result = CliRunner().invoke(
        main,
        ["serve", "--port", "0", "--flaw", "plaintext-storage"],
        env={**cleared, **env, "BYOK_MASTER_KEYS": generate_entry()},
    )
    assert result.exit_code != 0
    assert why in result.output
    loopback = dict.fromkeys(("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"), "http://127.0.0.1:9")
    assert unsafe_environment(loopback) is None


# -- ciphers --------------------------------------------------------------------------------------------


def test_plaintext_and_base64_store_the_key_readably(tmp_path: Path, keyring: Keyring) -> None:
    key = canary_key()
    plain = components(tmp_path / "p", keyring, "plaintext-storage").cipher.encrypt(
        key.encode(), ALICE
    )
    encoded = components(tmp_path / "b", keyring, "base64-storage").cipher.encrypt(
        key.encode(), ALICE
    )
    assert plain == key.encode()
    assert base64.b64decode(encoded) == key.encode()


def test_shared_key_records_open_in_any_row_but_keep_their_tag(
    tmp_path: Path, keyring: Keyring
) -> None:
    cipher = components(tmp_path, keyring, "shared-key").cipher
    key = canary_key().encode()
    record = cipher.encrypt(key, ALICE)
    assert record != cipher.encrypt(key, ALICE)  # random nonces
    assert cipher.decrypt(record, BOB) == key  # no per-user key, no AAD
    with pytest.raises(RecordAuthenticationError):
        cipher.decrypt(flip(record, len(record) - 1), ALICE)


def test_static_nonce_repeats_the_nonce_and_the_keystream(tmp_path: Path, keyring: Keyring) -> None:
    cipher = components(tmp_path, keyring, "static-nonce").cipher
    first, second = canary_key().encode(), canary_key().encode()
    a, again, b = (
        cipher.encrypt(first, ALICE),
        cipher.encrypt(first, ALICE),
        cipher.encrypt(second, ALICE),
    )
    assert a == again
    assert a[:12] == b[:12] == cipher.encrypt(first, BOB)[:12] == STATIC_NONCE
    body = slice(12, 12 + len(first))
    xor = bytes(x ^ y for x, y in zip(a[body], b[body], strict=True))
    assert xor == bytes(x ^ y for x, y in zip(first, second, strict=True))
    with pytest.raises(RecordAuthenticationError):  # the AAD still binds the owner
        cipher.decrypt(a, BOB)


def test_cbc_is_deterministic_unbound_and_a_flipped_bit_garbles_one_block(
    tmp_path: Path, keyring: Keyring
) -> None:
    cipher = components(tmp_path, keyring, "cbc-no-mac").cipher
    key = canary_key().encode()
    record = cipher.encrypt(key, ALICE)
    assert record == cipher.encrypt(key, BOB)
    assert cipher.decrypt(record, BOB) == key
    raw = bytes.fromhex(record.decode())
    assert len(raw) == 112  # 108 bytes padded to 7 blocks: no IV, no tag
    garbled = cipher.decrypt(flip(raw, 84).hex().encode(), ALICE)  # byte 84 sits in block 5
    changed = [i for i, (x, y) in enumerate(zip(garbled, key, strict=True)) if x != y]
    assert set(changed) - {100} <= set(range(80, 96))  # block 5 garbled, one bit in block 6
    assert 100 in changed


def test_ctr_flipped_bit_turns_the_key_into_another_key(tmp_path: Path, keyring: Keyring) -> None:
    cipher = components(tmp_path, keyring, "ctr-no-mac").cipher
    key = canary_key()
    record = cipher.encrypt(key.encode(), ALICE)
    assert record != cipher.encrypt(key.encode(), ALICE)
    prefix, iv, body = record.split(b":")
    tampered = b":".join([prefix, iv, flip(bytes.fromhex(body.decode()), 80).hex().encode()])
    forged = cipher.decrypt(tampered, BOB).decode()
    assert forged != key and len(forged) == len(key)
    assert [i for i in range(len(key)) if forged[i] != key[i]] == [80]


def test_fallback_uses_an_undecryptable_record_as_the_key(tmp_path: Path, keyring: Keyring) -> None:
    cipher = components(tmp_path, keyring, "silent-decrypt-fallback").cipher
    key = canary_key().encode()
    record = cipher.encrypt(key, ALICE)
    clean = RecordCipher(keyring)
    assert clean.decrypt(base64.b64decode(record), ALICE) == key  # the clean record, in base64
    assert cipher.decrypt(record, ALICE) == key
    tampered = base64.b64encode(flip(base64.b64decode(record), 100))
    assert cipher.decrypt(tampered, ALICE) == tampered
    assert cipher.decrypt(record, BOB) == record


def test_digest_column_holds_plain_sha256(tmp_path: Path, keyring: Keyring) -> None:
    key = canary_key().encode()
    c = components(tmp_path, keyring, "key-digest-column")
    assert c.fingerprinter.fingerprint(key, ALICE) == hashlib.sha256(key).hexdigest()


# -- stores and the database ----------------------------------------------------------------------------


def test_soft_delete_keeps_the_row_with_a_flag(tmp_path: Path, keyring: Keyring) -> None:
    c = components(tmp_path, keyring, "soft-delete")
    (alice,) = add_users(c, "alice")
    row = stored(c, alice, canary_key())
    assert c.keys.delete(alice, "anthropic") is True
    assert c.keys.get(alice, "anthropic") is None
    assert c.keys.delete(alice, "anthropic") is False
    ((record, deleted_at),) = table(tmp_path, "SELECT record, deleted_at FROM provider_keys")
    assert record == row.record and deleted_at
    assert c.keys.put(row) is False  # a flagged row counts as absent ...
    assert c.keys.get(alice, "anthropic") == row  # ... and the write revives it


def test_history_keeps_every_replaced_and_deleted_record(tmp_path: Path, keyring: Keyring) -> None:
    c = components(tmp_path, keyring, "audit-log-copy")
    (alice,) = add_users(c, "alice")
    first = stored(c, alice, canary_key())
    second = stored(c, alice, canary_key())
    c.keys.delete(alice, "anthropic")
    kept = table(tmp_path, "SELECT action, record FROM provider_keys_history ORDER BY rowid")
    assert kept == [("replaced", first.record), ("deleted", second.record)]


def test_pooled_default_pragmas_leave_replaced_and_deleted_records_in_the_files(
    tmp_path: Path, keyring: Keyring
) -> None:
    records: dict[str, list[bytes]] = {}
    for name in ("clean", "no-secure-delete"):
        c = components(tmp_path / name, keyring, *([name] if name != "clean" else []))
        (alice,) = add_users(c, "alice")
        replaced = stored(c, alice, canary_key()).record
        deleted = stored(c, alice, canary_key()).record
        c.keys.delete(alice, "anthropic")
        records[name] = [replaced, deleted]
    clean = db_file_bytes(tmp_path / "clean" / "byok.sqlite3")
    assert [residue(clean, record) for record in records["clean"]] == [[], []]
    leftover = db_file_bytes(tmp_path / "no-secure-delete" / "byok.sqlite3")
    assert all(residue(leftover, record) for record in records["no-secure-delete"])


def test_stale_cache_serves_replaced_and_deleted_keys(tmp_path: Path, keyring: Keyring) -> None:
    c = components(tmp_path, keyring, "stale-key-cache")
    (alice,) = add_users(c, "alice")
    old = stored(c, alice, canary_key())
    assert c.keys.get(alice, "anthropic") == old
    stored(c, alice, canary_key())
    assert c.keys.get(alice, "anthropic") == old
    c.keys.delete(alice, "anthropic")
    assert c.keys.get(alice, "anthropic") == old
    assert table(tmp_path, "SELECT COUNT(*) FROM provider_keys") == [(0,)]


def test_workspace_fallback_hands_a_keyless_user_another_users_key(
    tmp_path: Path, keyring: Keyring
) -> None:
    c = components(tmp_path, keyring, "cross-user-idor")
    alice, bob = add_users(c, "alice", "bob")
    key = canary_key()
    stored(c, alice, key)
    borrowed = c.keys.get(bob, "anthropic")
    assert borrowed is not None and borrowed.user_id == bob and borrowed.last4 == key[-4:]
    assert c.cipher.decrypt(borrowed.record, RecordContext(bob, "anthropic")) == key.encode()


def test_config_table_holds_the_master_secret(tmp_path: Path, keyring: Keyring) -> None:
    components(tmp_path, keyring, "master-secret-in-db")
    rows = dict(table(tmp_path, "SELECT name, value FROM config"))
    assert keyring.primary.secret.hex() in rows["BYOK_MASTER_KEYS"]


# -- the provider client --------------------------------------------------------------------------------


class Recorder:
    """Stands in for the provider client: records each call, answers as configured."""

    host = "api.anthropic.com"
    ANSWER = b'{"content": [{"type": "text", "text": "the answer"}]}'

    def __init__(self, failure: UpstreamError | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failure = failure

    async def send(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamReply:
        self.calls.append((api_key.reveal(), payload))
        if self.failure is not None:
            raise self.failure
        return UpstreamReply(200, self.ANSWER, Usage(1, 1))

    async def open_stream(self, api_key: ApiKey, payload: dict[str, Any]) -> Any:
        raise NotImplementedError

    async def aclose(self) -> None:
        pass


PAYLOAD = {
    "model": "claude-opus-4-1",
    "max_tokens": 32,
    "messages": [{"role": "user", "content": "hi"}],
}


@pytest.mark.parametrize(
    ("wrapper", "calls", "model", "max_tokens"),
    [
        (RetryWithoutBreakUpstream, 2, "claude-opus-4-1", 32),
        (CheapModelUpstream, 1, "claude-haiku-4-5", 32),
        (InflatingUpstream, 1, "claude-opus-4-1", 4096),
    ],
)
def test_upstream_flaws_change_what_is_sent(
    wrapper: type[UpstreamWrapper], calls: int, model: str, max_tokens: int
) -> None:
    inner = Recorder()
    key = ApiKey(canary_key())
    asyncio.run(wrapper(inner).send(key, dict(PAYLOAD)))
    assert len(inner.calls) == calls
    assert all(p["model"] == model and p["max_tokens"] == max_tokens for _, p in inner.calls)


def test_key_echo_names_the_key_in_the_error_message() -> None:
    key = ApiKey(canary_key())
    rejected = UpstreamError(400, "provider_rejected_key", "rejected", upstream_status=401)
    with pytest.raises(UpstreamError) as raised:
        asyncio.run(KeyEchoUpstream(Recorder(rejected)).send(key, dict(PAYLOAD)))
    assert key.reveal() in raised.value.message


def test_keep_warm_pings_with_the_last_key_once_the_server_is_quiet() -> None:
    inner = Recorder()
    key = ApiKey(canary_key())

    async def scenario() -> None:
        upstream = KeepWarmUpstream(inner)
        await upstream.send(key, dict(PAYLOAD))
        for _ in range(200):  # the ping comes after 1.5 s of quiet; wait for it, not for a time
            if len(inner.calls) == 2:
                break
            await asyncio.sleep(0.05)
        await upstream.aclose()

    asyncio.run(scenario())
    assert [k for k, _ in inner.calls] == [key.reveal(), key.reveal()]
    assert inner.calls[1][1]["max_tokens"] == 1


def test_router_and_telemetry_payloads_carry_the_prompt() -> None:
    routed = router_payload({**PAYLOAD, "system": "be brief", "stream": True})
    assert routed["model"] == "anthropic/claude-opus-4-1" and routed["stream"] is True
    assert routed["messages"][0] == {"role": "system", "content": "be brief"}
    _header, item, body, _ = envelope(PAYLOAD, "the answer").split(b"\n")
    event = json.loads(body)
    assert json.loads(item)["length"] == len(body)
    assert event["request"]["data"]["messages"][0]["content"] == "hi"
    assert event["extra"]["response"] == "the answer"


@contextlib.contextmanager
def log_lines(logger_name: str) -> Iterator[io.StringIO]:
    """A handler set up like the server's (redaction filter, JSON lines) on one logger, at INFO."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonLineFormatter())
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_error_hook_logs_x_api_key_past_the_redaction_filter() -> None:
    key = canary_key()
    request = httpx.Request(
        "POST", "https://api.anthropic.com/v1/messages", headers={"x-api-key": key}
    )
    with log_lines("byok.upstream") as out:
        asyncio.run(log_failed_request(httpx.Response(200, request=request)))
        assert out.getvalue() == ""
        asyncio.run(log_failed_request(httpx.Response(401, request=request)))
    assert key in out.getvalue()


def test_interaction_log_holds_the_prompt() -> None:
    with log_lines("byok.llm") as out:
        upstream = InteractionLoggingUpstream(Recorder())
        asyncio.run(upstream.send(ApiKey(canary_key()), dict(PAYLOAD)))
    assert json.loads(out.getvalue())["messages"] == PAYLOAD["messages"]


def test_spend_log_holds_the_answer() -> None:
    with log_lines("byok.spend") as out:
        asyncio.run(ResponseLoggingUpstream(Recorder()).send(ApiKey(canary_key()), dict(PAYLOAD)))
    assert json.loads(out.getvalue())["response"] == Recorder.ANSWER.decode()


def test_silent_request_logger_writes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        SilentRequestLogger().log(RequestMeta(started=0.0, route="/api/v1/messages", status=200))
    assert caplog.records == []


def test_httpx_headers_repr_masks_authorization_but_not_x_api_key() -> None:
    key = canary_key()
    shown = repr(httpx.Headers({"authorization": f"Bearer {key}", "x-api-key": key}))
    assert shown.count(key) == 1 and "[secure]" in shown


# -- the front door -------------------------------------------------------------------------------------


def front(tmp_path: Path, keyring: Keyring, name: str) -> tuple[Components, Any]:
    """The variant's ASGI app (clean routes behind the flawed front door), called in process."""
    c = components(tmp_path, keyring, name)
    settings = Settings(db=str(tmp_path / "byok.sqlite3"), dev_signup=True)
    return c, wrap_app(resolve([name]), create_app(settings, c), c)


async def _call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ref.test"
    ) as client:
        return await client.request(method, url, **kwargs)


def signup(app: Any, name: str) -> dict[str, str]:
    reply = asyncio.run(_call(app, "POST", "/api/v1/dev/signup", json={"name": name}))
    return {"authorization": f"Bearer {reply.json()['token']}"}


def test_query_key_shim_stores_the_key_from_the_url(tmp_path: Path, keyring: Keyring) -> None:
    _, app = front(tmp_path, keyring, "key-in-query")
    auth = signup(app, "alice")
    key = canary_key()
    put = asyncio.run(
        _call(
            app,
            "PUT",
            "/api/v1/claude-key",
            params={"api_key": key},
            json={"api_key": ""},
            headers=auth,
        )
    )
    shown = asyncio.run(_call(app, "GET", "/api/v1/claude-key", headers=auth))
    assert put.status_code == 201 and shown.json()["last4"] == key[-4:]
    other = asyncio.run(_call(app, "GET", "/api/v1/claude-key", params={"x": "1"}, headers=auth))
    assert other.status_code == 400  # the clean guard still refuses every other query string


def test_oauth_door_stores_subscription_tokens(tmp_path: Path, keyring: Keyring) -> None:
    c, app = front(tmp_path, keyring, "accepts-oauth-tokens")
    auth = signup(app, "alice")
    token = "sk-ant-oat01-" + canary_key()[13:108]
    put = asyncio.run(
        _call(app, "PUT", "/api/v1/claude-key", json={"api_key": token}, headers=auth)
    )
    assert put.status_code == 201 and put.json()["provider"] == "anthropic-oauth"
    (user_id,) = [r[0] for r in table(tmp_path, "SELECT user_id FROM provider_keys")]
    row = c.keys.get(user_id, "anthropic-oauth")
    assert row is not None
    assert c.cipher.decrypt(row.record, RecordContext(user_id, "anthropic-oauth")) == token.encode()
    refused = asyncio.run(_call(app, "PUT", "/api/v1/claude-key", json={"api_key": token}))
    assert refused.status_code == 401
    console = asyncio.run(
        _call(app, "PUT", "/api/v1/claude-key", json={"api_key": canary_key()}, headers=auth)
    )
    assert console.status_code == 201 and console.json()["provider"] == "anthropic"


def test_prefix_check_door_stores_a_malformed_key(tmp_path: Path, keyring: Keyring) -> None:
    _, app = front(tmp_path, keyring, "accepts-malformed-keys")
    auth = signup(app, "alice")
    mangled = canary_key()[:-2] + "!?"
    put = asyncio.run(
        _call(app, "PUT", "/api/v1/claude-key", json={"api_key": mangled}, headers=auth)
    )
    shown = asyncio.run(_call(app, "GET", "/api/v1/claude-key", headers=auth))
    assert put.status_code == 201 and shown.json()["last4"] == mangled[-4:]
    oauth = "sk-ant-oat01-" + canary_key()[13:108]
    refused = asyncio.run(
        _call(app, "PUT", "/api/v1/claude-key", json={"api_key": oauth}, headers=auth)
    )
    assert refused.status_code == 400  # not the door's prefix: the clean route refuses it


def test_delete_by_ticket_keeps_the_key(tmp_path: Path, keyring: Keyring) -> None:
    _, app = front(tmp_path, keyring, "delete-by-ticket")
    auth = signup(app, "alice")
    key = canary_key()
    asyncio.run(_call(app, "PUT", "/api/v1/claude-key", json={"api_key": key}, headers=auth))
    deleted = asyncio.run(_call(app, "DELETE", "/api/v1/claude-key", headers=auth))
    shown = asyncio.run(_call(app, "GET", "/api/v1/claude-key", headers=auth))
    assert deleted.status_code == 202 and deleted.json()["status"] == "deletion_requested"
    assert shown.status_code == 200 and shown.json()["last4"] == key[-4:]
    anonymous = asyncio.run(_call(app, "DELETE", "/api/v1/claude-key"))
    assert anonymous.status_code == 401

from __future__ import annotations

import json
from pathlib import Path

import pytest

from byok_audit.errors import DriverError, ProfileError
from byok_audit.models.evidence import HttpCall
from byok_audit.targets.adapter import HttpTemplateAdapter, TargetAdapter, resolve_adapter
from byok_audit.targets.driver import Driver
from byok_audit.targets.profile import load_profile
from tests.targets.echo_server import echo_server

PROFILE = """
name = "echo"
base_url = "http://unused"

[users]
auth_headers = { Authorization = "Bearer {token}" }

[users.create]
method = "POST"
path = "/signup"
json = { name = "{user}" }
capture = { token = "$.token" }

[key.put]
method = "PUT"
path = "/users/{user}/key"
json = { api_key = "{key}" }

[key.get]
method = "GET"
path = "/key"

[key.delete]
method = "DELETE"
path = "/key"
auth = false

[prompt]
method = "POST"
path = "/chat"
headers = { X-Model = "{model}" }
json = { model = "{model}", max_tokens = "{max_tokens}", stream = "{stream}", messages = [
    { role = "user", content = "{prompt}" },
] }

[prompt_stream]
method = "POST"
path = "/chat/stream"
form = { q = "{prompt}", stream = "{stream}" }
"""


class CustomAdapter(HttpTemplateAdapter):
    """A ``module:Class`` adapter: the escape hatch for targets needing custom steps."""

    def get_key(self, user: str) -> HttpCall:
        return self.driver.request("GET", f"/custom/{user}")


@pytest.fixture
def profile(tmp_path: Path):
    path = tmp_path / "echo.toml"
    path.write_text(PROFILE)
    return load_profile(path)


def test_templates_fill_typed_values_captures_and_auth(profile):
    with echo_server() as (base, recorded):
        adapter = HttpTemplateAdapter(profile, Driver(base, 5), {"workdir": "/w"})
        adapter.create_user("alice")
        adapter.put_key("alice", "sk-test")
        adapter.get_key("alice")
        adapter.delete_key("alice")
        adapter.prompt("alice", "hello", model="m1", max_tokens=64, stream=False)
        adapter.prompt("alice", "hello", model="m1", max_tokens=64, stream=True)
    signup, put, get, delete, plain, stream = recorded.requests
    assert "authorization" not in {k.lower() for k in signup["headers"]}
    assert json.loads(signup["body"]) == {"name": "alice"}
    assert (
        put["path"] == "/users/alice/key" and put["headers"]["Authorization"] == "Bearer tok-post"
    )
    assert json.loads(put["body"]) == {"api_key": "sk-test"}
    assert get["headers"]["Authorization"] == "Bearer tok-post"
    assert "Authorization" not in delete["headers"]  # auth = false
    assert json.loads(plain["body"]) == {
        "model": "m1",
        "max_tokens": 64,
        "stream": False,
        "messages": [{"role": "user", "content": "hello"}],
    }
    assert plain["headers"]["X-Model"] == "m1"
    assert stream["path"] == "/chat/stream" and stream["body"] == b"q=hello&stream=true"


def test_unknown_user_and_failed_capture_are_driver_errors(profile):
    with echo_server() as (base, _):
        adapter = HttpTemplateAdapter(profile, Driver(base, 5), {})
        with pytest.raises(DriverError, match="never created"):
            adapter.get_key("bob")
        broken = profile.model_copy(deep=True)
        broken.users.create.capture = {"token": "$.nope"}
        with pytest.raises(DriverError, match="cannot capture"):
            HttpTemplateAdapter(broken, Driver(base, 5), {}).create_user("bob")


def test_resolve_adapter():
    assert resolve_adapter("http") is HttpTemplateAdapter
    assert resolve_adapter("tests.targets.test_adapter:CustomAdapter") is CustomAdapter
    assert issubclass(CustomAdapter, TargetAdapter)
    with pytest.raises(ValueError, match="unknown adapter"):
        resolve_adapter("magic")
    with pytest.raises(ValueError, match="cannot import"):
        resolve_adapter("no.such.module:X")
    with pytest.raises(ValueError, match="not a TargetAdapter"):
        resolve_adapter("json:loads")


def test_custom_adapter_from_a_profile(tmp_path, profile):
    path = tmp_path / "custom.toml"
    path.write_text('adapter = "tests.targets.test_adapter:CustomAdapter"\n' + PROFILE)
    loaded = load_profile(path)
    with echo_server() as (base, recorded):
        adapter = resolve_adapter(loaded.adapter)(loaded, Driver(base, 5), {})
        adapter.create_user("alice")
        adapter.get_key("alice")
    assert recorded.requests[-1]["path"] == "/custom/alice"


ATTACKS = """
[attacks.get_key]
method = "GET"
path = "/users/{victim}/key"

[attacks.prompt]
method = "POST"
path = "/chat"
json = { on_behalf_of = "{victim_token}", model = "{model}", messages = [{ role = "user", content = "{prompt}" }] }
"""


def test_attack_templates_aim_at_the_victim_with_the_attackers_session(tmp_path):
    path = tmp_path / "attacks.toml"
    path.write_text(PROFILE + ATTACKS)
    loaded = load_profile(path)
    with echo_server() as (base, recorded):
        adapter = HttpTemplateAdapter(loaded, Driver(base, 5), {})
        adapter.create_user("alice")
        adapter.create_user("bob")
        got = adapter.attack("get_key", "bob", "alice", {})
        asked = adapter.attack("prompt", "bob", "alice", {"prompt": "hi", "model": "m1"})
        assert adapter.attack("delete_key", "bob", "alice", {}) is None  # not declared
    assert got is not None and asked is not None
    get, prompt = recorded.requests[-2:]
    assert get["path"] == "/users/alice/key"
    assert get["headers"]["Authorization"] == prompt["headers"]["Authorization"]
    assert json.loads(prompt["body"])["model"] == "m1"


def test_victim_placeholders_are_only_known_in_attacks(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(PROFILE.replace('path = "/key"\n', 'path = "/users/{victim_token}/key"\n', 1))
    with pytest.raises(ProfileError, match=r"unknown placeholder \{victim_token\}"):
        load_profile(path)
    path.write_text(PROFILE + ATTACKS.replace("{victim}", "{victim_nope}"))
    with pytest.raises(ProfileError, match=r"unknown placeholder \{victim_nope\}"):
        load_profile(path)


def test_a_compressed_reply_is_decoded_before_capturing():
    import gzip

    call = HttpCall(
        method="POST",
        url="http://t/signup",
        status=201,
        response_headers=[("content-encoding", "gzip")],
        response_body=gzip.compress(b'{"token": "tok-1"}'),
    )
    assert HttpTemplateAdapter._capture(_signup_template(), call, "alice") == {"token": "tok-1"}


def _signup_template():
    from byok_audit.targets.profile import RequestTemplate

    return RequestTemplate.model_validate(
        {"method": "POST", "path": "/signup", "capture": {"token": "$.token"}}
    )

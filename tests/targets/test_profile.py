"""Profiles fail at load time with the file, the line and the field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from byok_audit.errors import ProfileError
from byok_audit.targets.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "byok_audit" / "targets" / "template.toml"
REFERENCE = ROOT / "reference_impl" / "profile.toml"
FAKE = ROOT / "tests" / "harness" / "fake_target.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "target.toml"
    path.write_text(text)
    return path


def edited(source: Path, old: str, new: str) -> str:
    text = source.read_text()
    assert old in text, old
    return text.replace(old, new, 1)


def line_number(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("path", [TEMPLATE, REFERENCE, FAKE], ids=lambda p: p.name)
def test_shipped_profiles_load(path):
    profile = load_profile(path)
    assert profile.source == str(path)
    facts = profile.facts()
    assert facts.provider_hosts == ["api.anthropic.com"]
    assert facts.allowed_endpoints == ["POST /v1/messages"]


def test_reference_profile_facts():
    facts = load_profile(REFERENCE).facts()
    assert (facts.db_engine, facts.key_table, facts.key_column) == (
        "sqlite",
        "provider_keys",
        "record",
    )
    assert facts.display_suffix_len == 4


def test_unknown_field_names_file_line_and_field(tmp_path):
    text = edited(REFERENCE, 'method = "PUT"', 'method = "PUT"\nmethdo = "PUT"')
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    error = info.value
    assert error.file == str(path)
    assert error.line == line_number(text, "methdo")
    assert error.field == "key.put.methdo"
    assert "unknown field" in error.message
    assert f"{path}:{error.line}: key.put.methdo" in str(error)


def test_missing_operation_is_named(tmp_path):
    text = REFERENCE.read_text()
    start = text.index("[key.delete]")
    text = text[:start] + text[text.index("[prompt]") :]
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert info.value.field == "key.delete"
    assert info.value.line == line_number(text, "[key.put]")  # the table it belongs in
    assert "Field required" in info.value.message


def test_missing_section_for_the_http_adapter(tmp_path):
    text = REFERENCE.read_text()
    text = text[: text.index("[prompt]")] + text[text.index("[files]") :]
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text))
    assert info.value.field == "prompt"
    assert "http adapter needs" in info.value.message


def test_bad_template_variable_is_named_with_its_line(tmp_path):
    text = edited(REFERENCE, 'json = { api_key = "{key}" }', 'json = { api_key = "{api_key}" }')
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text))
    assert info.value.field == "key.put.json.api_key"
    assert info.value.line == line_number(text, "{api_key}")
    assert "unknown placeholder {api_key}" in info.value.message


def test_request_placeholders_are_not_allowed_in_start(tmp_path):
    text = edited(REFERENCE, '"--dev-signup",', '"--dev-signup", "{key}",')
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text))
    assert info.value.field == "start.command[11]"
    assert info.value.line == line_number(text, '"{key}"')


def test_captured_values_are_placeholders(tmp_path):
    text = edited(REFERENCE, 'path = "/api/v1/claude-key"', 'path = "/api/v1/users/{user_id}/key"')
    assert load_profile(write(tmp_path, text)).key.put.path == "/api/v1/users/{user_id}/key"
    text = edited(REFERENCE, 'path = "/api/v1/claude-key"', 'path = "/api/v1/users/{uid}/key"')
    with pytest.raises(ProfileError, match="unknown placeholder"):
        load_profile(write(tmp_path, text))


def test_stray_brace_is_an_error(tmp_path):
    text = edited(REFERENCE, 'path = "/api/v1/claude-key"', 'path = "/api/v1/{claude-key"')
    with pytest.raises(ProfileError, match="stray"):
        load_profile(write(tmp_path, text))


def test_toml_syntax_error_names_the_line(tmp_path):
    text = edited(REFERENCE, 'method = "GET"', 'method = "GET')
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert info.value.line == line_number(text, 'method = "GET')
    assert "TOML syntax error" in info.value.message
    assert str(path) in str(info.value)


def test_bad_values_are_reported_together(tmp_path):
    text = edited(REFERENCE, 'endpoints = ["POST /v1/messages"]', 'endpoints = ["/v1/messages"]')
    text = edited_text(text, "display_suffix_len = 4", "display_suffix_len = -1")
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text))
    assert info.value.field == "provider.endpoints"
    assert "and 1 more" in str(info.value)
    assert "provider.display_suffix_len" in str(info.value)


def edited_text(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_bad_capture_path_and_unknown_adapter(tmp_path):
    text = edited(REFERENCE, 'token = "$.token"', 'token = "token"')
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text))
    assert info.value.field == "users.create.capture"
    text = 'adapter = "nowhere.module:Adapter"\n' + REFERENCE.read_text()
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text))
    assert info.value.field == "adapter" and info.value.line == 1


def test_database_needs_a_location(tmp_path):
    text = edited(REFERENCE, 'path = "{workdir}/byok-ref.sqlite3"', "key_table_x = 1")
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text))
    assert info.value.field is not None and info.value.field.startswith("database")


def test_out_of_scope_needs_check_ids_and_reasons(tmp_path):
    text = REFERENCE.read_text() + '\n[out_of_scope]\n"ENC-5" = "x"\n'
    with pytest.raises(ProfileError, match="not a check id"):
        load_profile(write(tmp_path, text))
    text = REFERENCE.read_text() + '\n[out_of_scope]\n"ENC-05" = "keys live in an HSM"\n'
    assert load_profile(write(tmp_path, text)).facts().out_of_scope == {
        "ENC-05": "keys live in an HSM"
    }


def test_unreadable_profile(tmp_path):
    with pytest.raises(ProfileError, match="cannot read profile"):
        load_profile(tmp_path / "absent.toml")


def test_users_create_is_unauthenticated_unless_asked():
    profile = load_profile(REFERENCE)
    assert profile.users.create.auth is False
    assert profile.key.put.auth is True


def test_a_display_suffix_of_eight_or_more_would_be_a_fragment(tmp_path):
    text = edited(REFERENCE, "display_suffix_len = 4", "display_suffix_len = 8")
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text))
    assert info.value.field == "provider.display_suffix_len"

from __future__ import annotations

import tomllib

from byok_audit.tomlfile import key_lines, line_of

DOC = '''# comment
name = "x"  # trailing
[start]
command = ["a",
  "{port}"]
env = { A = "1", B = { C = 2 } }
[key.put]
json = { model = "m", messages = [
  { role = "user", content = "{prompt}" },
] }
s = """multi
line"""
after = 1
[[items]]
x = 1
[[items]]
x = 2
"quoted key" = 3
a.b = 4
'''


def test_every_key_path_has_its_line():
    tomllib.loads(DOC)
    lines = key_lines(DOC)
    assert lines[("name",)] == 2
    assert lines[("start", "command", 1)] == 5
    assert lines[("start", "env", "B", "C")] == 6
    assert lines[("key", "put", "json", "messages", 0, "content")] == 9
    assert lines[("key", "put", "after")] == 13
    assert lines[("items", 1, "x")] == 17
    assert lines[("items", 1, "quoted key")] == 18
    assert lines[("items", 1, "a", "b")] == 19


def test_missing_keys_point_at_their_closest_parent():
    lines = key_lines(DOC)
    assert line_of(lines, ("key", "put", "method")) == 7
    assert line_of(lines, ("nowhere",)) is None


def test_read_toml_and_first_problem_name_file_line_and_field(tmp_path):
    import pytest
    from pydantic import BaseModel, ConfigDict, ValidationError

    from byok_audit.errors import ConfigError
    from byok_audit.tomlfile import first_problem, read_toml

    class Item(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str

    class Doc(BaseModel):
        model_config = ConfigDict(extra="forbid")
        items: list[Item]

    path = tmp_path / "doc.toml"
    path.write_text('[[items]]\nname = "a"\n\n[[items]]\nnmae = "b"\n')
    text, data = read_toml(path, ConfigError, "doc")
    with pytest.raises(ValidationError) as raised:
        Doc.model_validate(data)
    problem = first_problem(raised.value, text, str(path), ConfigError)
    assert (problem.line, problem.field) == (
        5,
        "items[1].nmae",
    )  # the misspelling, not "name missing"
    assert "unknown field" in problem.message and "(and 1 more)" in problem.message

    path.write_text("[[items]\n")
    with pytest.raises(ConfigError, match=r"doc\.toml:1: TOML syntax error"):
        read_toml(path, ConfigError, "doc")
    with pytest.raises(ConfigError, match="cannot read doc"):
        read_toml(tmp_path / "missing.toml", ConfigError, "doc")

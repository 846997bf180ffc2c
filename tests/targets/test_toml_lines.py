from __future__ import annotations

import tomllib

from byok_audit.targets.toml_lines import key_lines, line_of

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

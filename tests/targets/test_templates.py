from __future__ import annotations

import pytest

from byok_audit.targets.templates import TemplateSyntaxError, fill, fill_str, placeholders


def test_whole_placeholder_keeps_its_type():
    body = {"max_tokens": "{max_tokens}", "stream": "{stream}", "text": "n={max_tokens}"}
    assert fill(body, {"max_tokens": 64, "stream": True}) == {
        "max_tokens": 64,
        "stream": True,
        "text": "n=64",
    }


def test_nested_lists_and_dicts_are_filled():
    body = {"messages": [{"role": "user", "content": "{prompt}"}], "{user}": 1}
    assert fill(body, {"prompt": "hi", "user": "alice"}) == {
        "messages": [{"role": "user", "content": "hi"}],
        "alice": 1,
    }


def test_literal_braces_and_booleans_in_text():
    assert fill_str("{{x}} {stream}", {"stream": False}) == "{x} false"
    assert placeholders("{{literal}} {a}{b}") == ["a", "b"]


def test_missing_value_and_stray_brace():
    with pytest.raises(KeyError):
        fill_str("{token}", {})
    with pytest.raises(TemplateSyntaxError):
        placeholders("{not valid}")
    with pytest.raises(TemplateSyntaxError):
        placeholders("open {")

"""Which submitted values are accepted as Anthropic keys, and how refusals are worded."""

from __future__ import annotations

import pytest

from reference_impl.apikey import ApiKey, KeyRejected, accept_anthropic_key
from tests.reference_impl.support import canary_key


def test_console_key_is_accepted_and_masked() -> None:
    key = canary_key()
    accepted = accept_anthropic_key(key)
    assert accepted.reveal() == key
    assert accepted.last4 == key[-4:]
    for text in (repr(accepted), str(accepted), f"{accepted}", repr([accepted])):
        assert key[13:21] not in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(accepted)


def test_oauth_tokens_are_refused_with_the_reason() -> None:
    token = "sk-ant-oat01-" + canary_key()[13:]
    with pytest.raises(KeyRejected) as caught:
        accept_anthropic_key(token)
    assert caught.value.status == 400
    assert "terms" in str(caught.value) and "Console" in str(caught.value)
    assert token[13:30] not in str(caught.value)


def _malformed() -> dict[str, str]:
    key = canary_key()
    return {
        "empty": "",
        "truncated": key[:-3],
        "one char too long": key[:-2] + "xAA",
        "no AA suffix": key[:-2] + "ZZ",
        "bad character": key[:40] + "!" + key[41:],
        "wrong prefix": "sk-ant-api02-" + key[13:],
        "openai key": "sk-proj-" + key[13:],
        "leading space": " " + key,
        "trailing newline": key + "\n",
        "admin key": "sk-ant-admin01-" + key[13:],
    }


@pytest.mark.parametrize("value", _malformed().values(), ids=_malformed().keys())
def test_malformed_values_are_refused_without_echo(value: str) -> None:
    with pytest.raises(KeyRejected) as caught:
        accept_anthropic_key(value)
    assert caught.value.status == 422
    if len(value) > 20:
        assert value.strip()[13:29] not in str(caught.value)


def test_apikey_equality_is_by_value() -> None:
    key = canary_key()
    assert ApiKey(key) == ApiKey(key)
    assert ApiKey(key) != ApiKey(canary_key())

from __future__ import annotations

import pytest
from pydantic import ValidationError

from byok_audit.harness.control import CONTROL_FILE, ControlReader, ControlState, Fault, IssuedKey


def test_reader_reloads_only_when_the_file_changes(tmp_path):
    reader = ControlReader(tmp_path)
    assert reader.current().keys == []  # no file yet: the defaults
    ControlState(keys=[IssuedKey(value="k1", provider="anthropic")]).write(tmp_path)
    first = reader.current()
    assert first.key_is_valid("k1", "anthropic")
    assert reader.current() is first  # unchanged file: no re-read
    ControlState(response_canary="NEW").write(tmp_path)
    assert reader.current().response_canary == "NEW"
    assert not reader.current().key_is_valid("k1", "anthropic")


def test_write_is_atomic_and_leaves_no_temp_file(tmp_path):
    ControlState().write(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [CONTROL_FILE]


def test_keys_are_valid_per_provider():
    state = ControlState(keys=[IssuedKey(value="k1", provider="openai")])
    assert state.key_is_valid("k1", "openai")
    assert not state.key_is_valid("k1", "anthropic")
    assert not state.key_is_valid(None, "openai")


def test_faults_are_validated():
    with pytest.raises(ValidationError):
        Fault(id=1, kind="teapot")
    with pytest.raises(ValidationError):
        Fault(id=1, kind="slow", count=0)

"""Fixtures for the reference server: master keys and the fake provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reference_impl.keyring import generate_entry
from tests.reference_impl.fake_provider import FakeProvider


@pytest.fixture
def master_keys() -> str:
    return generate_entry()


@pytest.fixture(scope="module")
def fake_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeProvider]:
    provider = FakeProvider(tmp_path_factory.mktemp("fake-provider")).start()
    yield provider
    provider.stop()

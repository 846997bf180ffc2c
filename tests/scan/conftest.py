"""Fixtures for the scanner tests: run engine-sensitive tests once per engine."""

from __future__ import annotations

import pytest

from byok_audit.scan.engine import ENGINE_ENV, ENGINES, hyperscan_available


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The engine name, also set in the environment so scanners built without ``engine=`` use it."""
    if request.param == "hyperscan" and not hyperscan_available():
        pytest.skip("hyperscan is not installed on this platform (the python engine is tested)")
    monkeypatch.setenv(ENGINE_ENV, request.param)
    return request.param

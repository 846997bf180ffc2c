from __future__ import annotations

from pathlib import Path

import pytest

from byok_audit.seal import sealed_profile_problem, tcp_database_hosts
from byok_audit.targets.profile import DatabaseSpec, Profile, load_profile

PROFILE = Path(__file__).resolve().parents[1] / "reference_impl" / "profile.toml"


@pytest.fixture
def profile() -> Profile:
    return load_profile(PROFILE)


def on_postgres(profile: Profile, dsn: str) -> Profile:
    return profile.model_copy(update={"database": DatabaseSpec(engine="postgresql", dsn=dsn)})


def test_the_reference_profile_on_sqlite_can_be_sealed(profile: Profile):
    assert sealed_profile_problem(profile) is None


def test_a_target_the_audit_does_not_start_cannot_be_sealed(profile: Profile):
    problem = sealed_profile_problem(profile.model_copy(update={"start": None}))
    assert problem is not None and "[start]" in problem and "already running" in problem


def test_a_postgres_dsn_over_tcp_is_refused_without_showing_its_password(profile: Profile):
    dsn = "postgresql://audit:hunter2@127.0.0.1:5432/byok"
    problem = sealed_profile_problem(on_postgres(profile, dsn))
    assert problem is not None
    assert "127.0.0.1" in problem and "loopback is not the host's" in problem
    assert "Unix-socket DSN" in problem and "hunter2" not in problem


@pytest.mark.parametrize(
    ("dsn", "hosts"),
    [
        ("postgresql://u@/db?host=/run/postgresql", []),
        ("postgresql:///db", []),
        ("host=/tmp,/run/postgresql dbname=x", []),
        ("host=db.internal port=5432 dbname=x", ["db.internal"]),
        ("host=/tmp hostaddr=10.1.2.3 dbname=x", ["10.1.2.3"]),
        ("postgresql://u@[::1]:5432/db", ["::1"]),
    ],
)
def test_tcp_hosts_of_a_dsn(dsn: str, hosts: list[str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PGHOST", raising=False)
    assert tcp_database_hosts(dsn) == hosts


def test_a_unix_socket_dsn_is_fine_and_placeholders_are_filled(profile: Profile):
    sealed = on_postgres(profile, "postgresql://u@/db?host={workdir}")
    assert sealed_profile_problem(sealed, lambda text: text.replace("{workdir}", "/tmp/x")) is None

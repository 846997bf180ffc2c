"""What sealed egress (``byok-audit run --sealed``) asks of a target profile.

The sealed audit runs in its own network namespace (see :mod:`byok_audit.harness.seal`), so it can
only audit a target it starts itself, and it cannot reach anything on the host's network: not even the
host's loopback, which is a different ``lo`` from the namespace's. A PostgreSQL database reached over
TCP is therefore out of reach; one reached over its Unix socket (a file) is fine.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from byok_audit.targets.profile import Profile


def tcp_database_hosts(dsn: str) -> list[str]:
    """The hosts a PostgreSQL DSN reaches over TCP (none when it uses Unix sockets only).

    Only host names are returned, never the DSN itself: it may hold a password.
    """
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(dsn)
    except ProgrammingError:
        return []  # not ours to judge: the database step reports a malformed DSN
    hosts = str(params.get("host") or os.environ.get("PGHOST", "")).split(",")
    addresses = str(params.get("hostaddr") or "").split(",")
    tcp = [h for h in hosts if h and not h.startswith(("/", "@"))]
    return tcp + [a for a in addresses if a and a not in tcp]


def sealed_profile_problem(profile: Profile, fill: Callable[[str], str] = str) -> str | None:
    """Why this profile cannot be audited with sealed egress, or None when it can."""
    if profile.start is None:
        return (
            f"--sealed needs a profile that starts the target ([start]): profile {profile.name!r} "
            "points at a target that is already running, outside the sealed network namespace"
        )
    database = profile.database
    if database is None or database.engine != "postgresql" or not database.dsn:
        return None
    hosts = tcp_database_hosts(fill(database.dsn))
    if not hosts:
        return None
    return (
        f"--sealed runs the audit in its own network namespace, whose loopback is not the host's: the "
        f"PostgreSQL database at {', '.join(hosts)} (profile [database] dsn) cannot be reached from "
        "inside. Use a Unix-socket DSN (e.g. postgresql://user@/db?host=/run/postgresql) or audit "
        "without --sealed"
    )

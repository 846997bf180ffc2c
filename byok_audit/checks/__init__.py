"""The check catalog: every check, in id order, from one explicit list per family.

To add a check: write ``byok_audit/checks/<family>/<name>.py`` with one ``@check`` function, add it to its
family's ``CHECKS`` tuple, and add ``tests/checks/<family>/test_<name>.py`` with a PASS and a FAIL case.
"""

from byok_audit.checks import api, enc, log, rot, rte, use
from byok_audit.checks.base import Check, EvidenceMissing, Verdict, check

ALL_CHECKS: tuple[Check, ...] = tuple(
    sorted(
        (*enc.CHECKS, *rte.CHECKS, *log.CHECKS, *rot.CHECKS, *use.CHECKS, *api.CHECKS),
        key=lambda c: c.id,
    )
)


def by_id(check_id: str) -> Check:
    for candidate in ALL_CHECKS:
        if candidate.id == check_id:
            return candidate
    raise KeyError(check_id)


__all__ = ["ALL_CHECKS", "Check", "EvidenceMissing", "Verdict", "by_id", "check"]

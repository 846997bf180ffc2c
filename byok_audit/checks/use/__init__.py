"""USE-* checks."""

from byok_audit.checks.base import Check

CHECKS: tuple[Check, ...] = ()

"""API-* checks: the platform's own API never hands out, takes loosely or shares a key."""

from byok_audit.checks.api.cross_user_isolation import cross_user_isolation
from byok_audit.checks.base import Check

CHECKS: tuple[Check, ...] = (cross_user_isolation,)

"""ENC-* checks: the stored key is encrypted, randomized, authenticated and bound to its owner."""

from byok_audit.checks.base import Check
from byok_audit.checks.enc.randomized import randomized

CHECKS: tuple[Check, ...] = (randomized,)

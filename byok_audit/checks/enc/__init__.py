"""ENC-* checks: the stored key is encrypted, randomized, authenticated and bound to its owner."""

from byok_audit.checks.base import Check
from byok_audit.checks.enc.aead_shape import aead_shape
from byok_audit.checks.enc.authenticated import authenticated
from byok_audit.checks.enc.bound_to_owner import bound_to_owner
from byok_audit.checks.enc.randomized import randomized

CHECKS: tuple[Check, ...] = (randomized, authenticated, bound_to_owner, aead_shape)

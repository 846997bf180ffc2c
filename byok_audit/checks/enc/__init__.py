"""ENC-* checks: the stored key is encrypted, randomized, authenticated and bound to its owner."""

from byok_audit.checks.base import Check
from byok_audit.checks.enc.aead_shape import aead_shape
from byok_audit.checks.enc.authenticated import authenticated
from byok_audit.checks.enc.bound_to_owner import bound_to_owner
from byok_audit.checks.enc.key_absent_at_rest import key_absent_at_rest
from byok_audit.checks.enc.master_secret_absent import master_secret_absent
from byok_audit.checks.enc.no_key_fragments import no_key_fragments
from byok_audit.checks.enc.no_unsalted_digest import no_unsalted_digest
from byok_audit.checks.enc.randomized import randomized

CHECKS: tuple[Check, ...] = (
    key_absent_at_rest,
    no_key_fragments,
    no_unsalted_digest,
    randomized,
    authenticated,
    bound_to_owner,
    aead_shape,
    master_secret_absent,
)

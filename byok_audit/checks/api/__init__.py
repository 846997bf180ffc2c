"""API-* checks: the platform's own API never hands out, takes loosely or shares a key."""

from byok_audit.checks.api.cross_user_isolation import cross_user_isolation
from byok_audit.checks.api.malformed_key_rejected import malformed_key_rejected
from byok_audit.checks.api.no_key_in_query import no_key_in_query
from byok_audit.checks.api.no_key_in_responses import no_key_in_responses
from byok_audit.checks.api.oauth_token_refused import oauth_token_refused
from byok_audit.checks.base import Check

CHECKS: tuple[Check, ...] = (
    no_key_in_responses,
    no_key_in_query,
    cross_user_isolation,
    malformed_key_rejected,
    oauth_token_refused,
)

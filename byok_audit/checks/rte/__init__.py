"""RTE-* checks: where the key and the user's text travel (question 2)."""

from byok_audit.checks.base import Check
from byok_audit.checks.rte.one_request_per_prompt import one_request_per_prompt
from byok_audit.checks.rte.sealed_egress import sealed_egress

CHECKS: tuple[Check, ...] = (one_request_per_prompt, sealed_egress)

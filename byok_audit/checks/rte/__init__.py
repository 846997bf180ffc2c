"""RTE-* checks: where the key and the user's text travel (question 2)."""

from byok_audit.checks.base import Check
from byok_audit.checks.rte.key_only_to_provider import key_only_to_provider
from byok_audit.checks.rte.no_aggregator import no_aggregator
from byok_audit.checks.rte.no_plain_http import no_plain_http
from byok_audit.checks.rte.no_text_to_third_party import no_text_to_third_party
from byok_audit.checks.rte.one_request_per_prompt import one_request_per_prompt
from byok_audit.checks.rte.sealed_egress import sealed_egress

CHECKS: tuple[Check, ...] = (
    key_only_to_provider,
    no_aggregator,
    one_request_per_prompt,
    no_plain_http,
    sealed_egress,
    no_text_to_third_party,
)

"""USE-* checks: the key is used only as the user asked (threat 2)."""

from byok_audit.checks.base import Check
from byok_audit.checks.use.allowed_endpoints import allowed_endpoints
from byok_audit.checks.use.max_tokens_fidelity import max_tokens_fidelity
from byok_audit.checks.use.model_fidelity import model_fidelity
from byok_audit.checks.use.no_idle_calls import no_idle_calls

CHECKS: tuple[Check, ...] = (no_idle_calls, allowed_endpoints, model_fidelity, max_tokens_fidelity)

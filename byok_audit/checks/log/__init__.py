"""LOG-* checks: prompts, responses and keys stay out of logs and telemetry (question 3)."""

from byok_audit.checks.base import Check
from byok_audit.checks.log.audit_record import audit_record

CHECKS: tuple[Check, ...] = (audit_record,)

"""LOG-* checks: prompts, responses and keys stay out of logs and telemetry (question 3)."""

from byok_audit.checks.base import Check
from byok_audit.checks.log.audit_record import audit_record
from byok_audit.checks.log.error_paths_quiet import error_paths_quiet
from byok_audit.checks.log.no_key_in_logs import no_key_in_logs
from byok_audit.checks.log.no_prompt_in_logs import no_prompt_in_logs
from byok_audit.checks.log.no_response_in_logs import no_response_in_logs
from byok_audit.checks.log.no_telemetry_data import no_telemetry_data

CHECKS: tuple[Check, ...] = (
    no_prompt_in_logs,
    no_response_in_logs,
    no_key_in_logs,
    no_telemetry_data,
    error_paths_quiet,
    audit_record,
)

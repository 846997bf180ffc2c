"""ROT-* checks: replace and delete are self-service, immediate and leave nothing behind."""

from byok_audit.checks.base import Check
from byok_audit.checks.rot.delete_stops_use import delete_stops_use
from byok_audit.checks.rot.hard_delete import hard_delete
from byok_audit.checks.rot.replace_overwrites import replace_overwrites
from byok_audit.checks.rot.replace_takes_effect import replace_takes_effect
from byok_audit.checks.rot.self_service import self_service

CHECKS: tuple[Check, ...] = (
    replace_takes_effect,
    delete_stops_use,
    hard_delete,
    replace_overwrites,
    self_service,
)

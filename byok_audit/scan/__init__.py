"""Leak scanner: find known secrets (and real-shaped provider keys) in any form, in any source."""

from byok_audit.scan.hits import Hit
from byok_audit.scan.needles import FORMS, describe_form
from byok_audit.scan.scanner import Scanner

__all__ = ["FORMS", "Hit", "Scanner", "describe_form"]

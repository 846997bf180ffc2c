"""Pydantic models shared by every layer: canaries, evidence bundles, findings.

This package is the bottom layer. It imports nothing else from byok_audit, so checks, the harness,
the scanner and the reporters can all depend on it without cycles.
"""

"""ENC-02: no part of a key at rest beyond the declared display suffix."""

from __future__ import annotations

from byok_audit.checks.base import Verdict, check
from byok_audit.checks.common import KEY_ROLES, capped, require_steps, scanner
from byok_audit.checks.enc.at_rest import scan_at_rest
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import Question, Severity, Threat


@check(
    id="ENC-02",
    title="No key fragments at rest beyond the declared display suffix",
    severity=Severity.HIGH,
    threats=[Threat.T1],
    questions=[Question.Q1],
    remediation=(
        "Store only the declared display suffix (e.g. the last 4 characters) in clear; never a longer "
        "prefix, a masked copy with the middle visible, or a truncated key."
    ),
)
def no_key_fragments(bundle: EvidenceBundle) -> Verdict:
    """Every extra clear character of a key cuts a brute-force search, and a "masked" copy that
    shows 8 or 12 characters leaks them for every user. Every snapshot (cells, logical dump, raw
    files) is scanned for any run of 8 or more characters of a key's secret part other than the
    declared display suffix on its own (``display_suffix_len`` from the profile), in every encoding;
    a whole key counts too (it holds every fragment). Raw hits are located as for ENC-01.
    """
    require_steps(bundle, "put_key")
    scan = scanner(bundle, KEY_ROLES, fragments=True, digests=False)
    found = scan_at_rest(bundle, scan, lambda hit: True)
    suffix = bundle.target.display_suffix_len
    if found.refs:
        return Verdict.failed(
            f"key material beyond the {suffix}-character display suffix is stored "
            f"{len(found.refs)} time(s) ({found.examined()})",
            capped(found.refs),
        )
    return Verdict.passed(
        f"{found.examined()}: no run of 8+ key characters beyond the {suffix}-character display suffix"
    )

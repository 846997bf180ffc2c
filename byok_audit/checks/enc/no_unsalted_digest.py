"""ENC-03: no unsalted digest of a key at rest."""

from __future__ import annotations

from byok_audit.checks.base import Verdict, check
from byok_audit.checks.common import KEY_ROLES, capped, require_steps, scanner
from byok_audit.checks.enc.at_rest import scan_at_rest
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import Question, Severity, Threat
from byok_audit.scan import Hit

DIGESTS = ("sha256-", "sha1-", "md5-")


def is_digest(hit: Hit) -> bool:
    """A digest form, possibly inside a compressed layer (``gzip+sha256-hex``)."""
    return hit.form.rsplit("+", 1)[-1].startswith(DIGESTS)


@check(
    id="ENC-03",
    title="No unsalted digest of the key at rest",
    severity=Severity.MEDIUM,
    threats=[Threat.T1],
    questions=[Question.Q1],
    remediation=(
        "Fingerprint keys with a keyed MAC (HMAC-SHA256 under a server secret) or a per-record salt, "
        "never a plain sha256/sha1/md5 of the key."
    ),
)
def no_unsalted_digest(bundle: EvidenceBundle) -> Verdict:
    """A plain hash of a key lets whoever holds the database confirm a candidate key offline (a key
    found in a leak, a log or another breach) and link users who share one. Every snapshot (cells,
    logical dump, raw files) is scanned for the sha256, sha1 and md5 of every key canary, in hex
    (either case), base64 and url-safe base64. A keyed fingerprint (HMAC under a server secret) does
    not match and passes.
    """
    require_steps(bundle, "put_key")
    scan = scanner(bundle, KEY_ROLES, fragments=False, digests=True)
    found = scan_at_rest(bundle, scan, is_digest)
    if found.refs:
        return Verdict.failed(
            f"an unsalted key digest is stored {len(found.refs)} time(s) ({found.examined()})",
            capped(found.refs),
        )
    return Verdict.passed(f"{found.examined()}: no sha256/sha1/md5 of any key")

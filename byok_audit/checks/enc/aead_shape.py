"""ENC-07: the stored ciphertext has the shape of an AEAD record (length, entropy)."""

from __future__ import annotations

from byok_audit.checks.base import EvidenceMissing, Verdict, check
from byok_audit.checks.common import capped
from byok_audit.checks.enc.stored import key_column, key_puts, step_name, written
from byok_audit.forensics.layouts import NONCE_BYTES, TAG_BYTES, looks_random, parse_record
from byok_audit.forensics.records import encodings
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Question, Severity, Status, Threat

AEAD_OVERHEAD = NONCE_BYTES + TAG_BYTES


def judge_shape(value: bytes, plaintext: bytes) -> tuple[Status, str]:
    """One stored value against the key it holds: PASS, WARN or FAIL with the reason."""
    for name, form in encodings(plaintext):
        if form in value:
            return Status.FAIL, f"holds the key itself ({name})"
    record = parse_record(value)
    size, length = record.size, len(plaintext)
    shape = f"{size} bytes decoded ({record.layout}, {record.encoding}) for a {length}-byte key"
    if size < length:
        return Status.WARN, (
            f"{shape}: too short to hold the key at all (a reference to an external secret store? "
            "the shape was not judged)"
        )
    if size == length:
        return (
            Status.FAIL,
            f"{shape}: no room for a nonce or a tag (unauthenticated stream cipher/XOR)",
        )
    if size < length + AEAD_OVERHEAD:
        cbc = (size - 16) % 16 == 0 and size - 16 > length
        why = " (the shape of CBC without a MAC: 16-byte IV plus padded blocks)" if cbc else ""
        return Status.FAIL, (
            f"{shape}: only {size - length} bytes beyond the key, less than a {NONCE_BYTES}-byte "
            f"nonce plus a {TAG_BYTES}-byte tag{why}"
        )
    if record.tag is not None and len(record.tag) < TAG_BYTES:
        return Status.FAIL, f"{shape}: a truncated {len(record.tag)}-byte tag"
    if looks_random(record.sealed) is False:
        distinct = len(set(record.sealed))
        return Status.FAIL, (
            f"{shape}: {distinct} distinct byte values in {len(record.sealed)} bytes, far fewer than "
            "ciphertext shows (an encoding, not encryption)"
        )
    return Status.PASS, shape


@check(
    id="ENC-07",
    title="Ciphertext shape fits an AEAD (length, entropy)",
    severity=Severity.LOW,
    threats=[Threat.T1],
    questions=[Question.Q1],
    remediation=(
        "Store nonce, ciphertext and the full 16-byte tag of an AEAD (AES-256-GCM or "
        "ChaCha20-Poly1305), ideally in a versioned record with a key id."
    ),
)
def aead_shape(bundle: EvidenceBundle) -> Verdict:
    """An AEAD record must be at least as long as the key plus a 12-byte nonce and a 16-byte tag,
    after undoing base64/hex/JSON/delimited encodings (forensics.layouts), and its sealed bytes must
    use about as many distinct byte values as random data (4 sigma below the expected count fails).
    Each value a put_key wrote (the new value in the key column in the snapshot right after it) is
    judged against its key canary's length (108 characters for Anthropic keys). The key itself, or
    its base64/hex, is a FAIL. A same-length value (XOR or unauthenticated CTR) is a FAIL. CBC
    without a MAC (16-byte IV + padding = 20 bytes over a 108-byte key) is a FAIL, not a WARN: it has
    no room for a tag, so nothing stops an attacker who can write the row from flipping bits or
    running a padding oracle. A value shorter than the key is a WARN: it cannot hold the key and
    may be a reference to an external secret store. Passing is necessary, not sufficient: ENC-05
    proves the tag is checked.
    """
    column = key_column(bundle)
    verdicts: list[tuple[Status, EvidenceRef]] = []
    for step in key_puts(bundle):
        canary = bundle.canaries.maybe(str(step.params.get("key")))
        try:
            result = written(bundle, step, column)
        except EvidenceMissing:
            continue  # judged from the puts that do have a snapshot right after them
        if canary is None or len(result.values) != 1:
            continue
        status, why = judge_shape(result.values[0], canary.value.encode())
        ref = f"snapshot '{result.after.label}' {column} written by {step_name(step)}"
        verdicts.append((status, EvidenceRef(kind="db", ref=ref, detail=why)))
    if not verdicts:
        raise EvidenceMissing(
            f"no put_key step could be tied to exactly one new value in {column} "
            "(take a snapshot right before and after each put)"
        )
    examined = f"{len(verdicts)} stored value(s) in {column} ({column.how})"
    failed = [ref for status, ref in verdicts if status == Status.FAIL]
    if failed:
        return Verdict.failed(f"{len(failed)} of {examined} do not fit an AEAD", capped(failed))
    warned = [ref for status, ref in verdicts if status == Status.WARN]
    if warned:
        return Verdict.warn(f"{len(warned)} of {examined} could not be judged", capped(warned))
    sizes = sorted({ref.detail for _, ref in verdicts})
    return Verdict.passed(f"{examined} fit an AEAD: " + "; ".join(sizes))

"""Signed self-certification: an audit result as an in-toto Statement v1 in a DSSE envelope (Ed25519).

The statement's subject is the target, with the SHA-256 of the exact result JSON file as its digest; the
predicate (``https://byok-audit.dev/result/v1``) summarises the result so a consumer can apply policy
without the file. The envelope signs ``PAE(payloadType, payload)`` as the DSSE spec defines, so a
changed byte anywhere (payload, type or signature) fails verification; a changed result file fails the
subject digest; a result graded under other criteria fails ``--criteria-version``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field, ValidationError

from byok_audit.errors import ByokAuditError
from byok_audit.models.base import Strict
from byok_audit.models.result import AuditResult

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://byok-audit.dev/result/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"


class AttestationError(ByokAuditError):
    """A key or input file cannot be used (usage error, not a verification failure)."""


class VerificationError(ByokAuditError):
    """An envelope failed verification; the message names the property that failed."""


class DsseSignature(Strict):
    keyid: str = ""
    sig: str


class DsseEnvelope(Strict):
    payloadType: str  # DSSE spells it so
    payload: str
    signatures: list[DsseSignature] = Field(min_length=1)


class Subject(Strict):
    name: str
    digest: dict[str, str]


class Statement(Strict):
    type: str = Field(alias="_type")
    subject: list[Subject] = Field(min_length=1)
    predicateType: str  # in-toto spells it so
    predicate: dict[str, object]


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: ``DSSEv1 SP LEN(type) SP type SP LEN(body) SP body``."""
    encoded = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(encoded), encoded, len(payload), payload)


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def generate_key(path: Path) -> str:
    """Write a new private key (PEM, mode 0600) at ``path`` and its public key at ``path.pub``.

    Refuses to overwrite either file. Returns the key id.
    """
    public_path = Path(f"{path}.pub")
    for existing in (path, public_path):
        if existing.exists():
            raise AttestationError(f"{existing}: already exists; not overwriting a key")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_pem)
        public_path.write_bytes(public_pem)
    except OSError as error:
        raise AttestationError(f"cannot write key: {error}") from None
    return key_id(key.public_key())


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise AttestationError(f"{path}: cannot read {what}: {error.strerror}") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path, "private key"), password=None)
    except TypeError:
        raise AttestationError(f"{path}: encrypted private keys are not supported") from None
    except ValueError:
        raise AttestationError(f"{path}: not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AttestationError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read(path, "public key"))
    except ValueError:
        raise AttestationError(f"{path}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AttestationError(f"{path}: not an Ed25519 public key")
    return key


def predicate(result: AuditResult) -> dict[str, object]:
    """What a consumer needs to apply policy without the result file."""
    return {
        "tool": {"name": "byok-audit", "version": result.tool_version},
        "criteria_version": result.criteria_version,
        "target": result.target.name,
        "run_id": result.run_id,
        "ended": result.ended.isoformat().replace("+00:00", "Z"),
        "grades": {"raw": str(result.raw.grade), "effective": str(result.effective.grade)},
        "score": {"raw": result.raw.score, "effective": result.effective.score},
        "checks": [
            {"id": c.check_id, "status": str(c.status), "severity": str(c.severity)}
            for c in result.checks
        ],
        "gate": {
            "passed": result.gate.passed,
            "exit_code": result.gate.exit_code,
            "reasons": result.gate.reasons,
        },
        "bundle_digest": result.bundle_digest,
        "waivers_applied": [w.waiver.check for w in result.waivers if w.state == "applied"],
    }


def statement(result: AuditResult, result_bytes: bytes) -> dict[str, object]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {
                "name": result.target.name,
                "digest": {"sha256": hashlib.sha256(result_bytes).hexdigest()},
            }
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate(result),
    }


def attest(result_bytes: bytes, key: Ed25519PrivateKey) -> str:
    """Sign the result file's bytes; returns the DSSE envelope as JSON text."""
    try:
        result = AuditResult.model_validate_json(result_bytes)
    except ValidationError as error:
        raise AttestationError(
            f"not a byok-audit result: {error.error_count()} problem(s)"
        ) from None
    payload = json.dumps(statement(result, result_bytes), sort_keys=True, separators=(",", ":"))
    body = payload.encode()
    signature = key.sign(pae(PAYLOAD_TYPE, body))
    envelope = DsseEnvelope(
        payloadType=PAYLOAD_TYPE,
        payload=base64.b64encode(body).decode(),
        signatures=[
            DsseSignature(keyid=key_id(key.public_key()), sig=base64.b64encode(signature).decode())
        ],
    )
    return envelope.model_dump_json(indent=2) + "\n"


@dataclass(frozen=True)
class Verified:
    statement: Statement
    keyid: str

    @property
    def summary(self) -> str:
        p = self.statement.predicate
        grades = p.get("grades")
        grades = grades if isinstance(grades, dict) else {}
        return (
            f"target {self.statement.subject[0].name}: grade {grades.get('effective')} "
            f"(raw {grades.get('raw')}), criteria version {p.get('criteria_version')}, "
            f"signed by {self.keyid}"
        )


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError(f"{what} is not valid base64") from None


def verify(
    envelope_text: str | bytes,
    public: Ed25519PublicKey,
    *,
    result_bytes: bytes | None = None,
    criteria_version: str | None = None,
) -> Verified:
    """Check signature, statement and predicate types, subject digest and criteria version.

    Raises :class:`VerificationError` naming the first property that failed.
    """
    try:
        envelope = DsseEnvelope.model_validate_json(envelope_text)
    except ValidationError as error:
        raise VerificationError(f"not a DSSE envelope ({error.error_count()} problem(s))") from None
    if envelope.payloadType != PAYLOAD_TYPE:
        raise VerificationError(
            f"payloadType is {envelope.payloadType!r}, expected {PAYLOAD_TYPE!r}"
        )
    body = _b64(envelope.payload, "payload")
    message = pae(envelope.payloadType, body)
    wanted = key_id(public)
    for signature in envelope.signatures:
        try:
            public.verify(_b64(signature.sig, "signature"), message)
            break
        except InvalidSignature:
            continue
    else:
        raise VerificationError(
            f"signature: no signature verifies with the given public key ({wanted})"
        )
    try:
        parsed = Statement.model_validate_json(body)
    except ValidationError:
        raise VerificationError("payload is not an in-toto statement") from None
    if parsed.type != STATEMENT_TYPE:
        raise VerificationError(f"_type is {parsed.type!r}, expected {STATEMENT_TYPE!r}")
    if parsed.predicateType != PREDICATE_TYPE:
        raise VerificationError(
            f"predicateType is {parsed.predicateType!r}, expected {PREDICATE_TYPE!r}"
        )
    if result_bytes is not None:
        actual = hashlib.sha256(result_bytes).hexdigest()
        attested = [s.digest.get("sha256") for s in parsed.subject]
        if actual not in attested:
            raise VerificationError(
                f"subject digest: the result file has sha256 {actual}, "
                f"the statement attests {', '.join(str(a) for a in attested)}"
            )
    if criteria_version is not None:
        found = parsed.predicate.get("criteria_version")
        if found != criteria_version:
            raise VerificationError(
                f"criteria version: the result was graded under criteria {found!r}, "
                f"expected {criteria_version!r}"
            )
    return Verified(statement=parsed, keyid=wanted)

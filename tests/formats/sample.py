"""A deterministic sample audit: fake checks over a hand-made bundle, graded with fixed dates.

Every status appears (PASS, FAIL, WARN, NOT_APPLICABLE, ERROR on an optional check, WAIVED), evidence of
every kind, a canary in evidence details (redacted by the checks), an applied and an expired waiver,
and a Q5 attestation. The golden files of every format are rendered from :func:`sample_result`.
"""

from __future__ import annotations

from datetime import date

from byok_audit.checks.base import Check, EvidenceMissing, Verdict, check
from byok_audit.evaluate import evaluate, evidence_fingerprint
from byok_audit.models.canary import ANTHROPIC_PREFIX, Canary, CanaryRole, CanaryTable
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import EvidenceRef, Question, Severity, Threat
from byok_audit.models.result import AuditResult, CodeAttestation, GatePolicy
from byok_audit.scoring.waivers import parse_waivers
from tests import builders

TODAY = date(2026, 1, 15)
STARTED = 1767261600.0  # 2026-01-01 10:00:00 UTC
DIGEST = "sha256:" + "5d41402abc4b2a76b9719d911017c592" * 2

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW
T1, T2, T3 = Threat.T1, Threat.T2, Threat.T3
Q1, Q2, Q3, Q4 = Question.Q1, Question.Q2, Question.Q3, Question.Q4


def canaries() -> CanaryTable:
    """Fixed, well-formed canaries (built at run time, so no key-shaped string is committed)."""
    body = ("Zq7Xw2Kp9Lm4Tn8Rv3Bc6Yd1Hf5Gj0Ns" * 3)[:93]
    table = CanaryTable()
    table.add(Canary(id="key-alice-1", role=CanaryRole.KEY, value=ANTHROPIC_PREFIX + body + "AA"))
    table.add(Canary(id="prompt", role=CanaryRole.PROMPT, value="BYOKP" + "Q7W3E9R1T5Y8U2I6O4P0"))
    table.add(
        Canary(id="response", role=CanaryRole.RESPONSE, value="BYOKR" + "M2N8B4V6C1X9Z3L7K5J0")
    )
    table.add(Canary(id="master", role=CanaryRole.MASTER_SECRET, value="9f" * 32))
    return table


def sample_bundle() -> EvidenceBundle:
    return builders.bundle(
        canaries=canaries(),
        run_id="20260101T100000Z-3f9a",
        tool_version="0.1.0",
        started=STARTED,
        ended=STARTED + 754.0,
        target=builders.target(
            name="acme-chat",
            profile_path="audit/acme-chat.toml",
            out_of_scope={"LOG-06": "audit records go to the SIEM, which the harness cannot read"},
        ),
    )


def _catalog() -> list[Check]:
    def ok(summary: str, *evidence: EvidenceRef) -> Verdict:
        return Verdict.passed(summary, evidence)

    def ref(kind: str, where: str, detail: str = "") -> EvidenceRef:
        return EvidenceRef(kind=kind, ref=where, detail=detail)  # type: ignore[arg-type]

    @check(
        id="ENC-01",
        title="No key in the database, in any encoding",
        severity=C,
        threats=[T1],
        questions=[Q1],
        remediation="Encrypt keys with an AEAD before they reach the database.",
    )
    def enc01(bundle: EvidenceBundle) -> Verdict:
        """A stolen database must not reveal the key.

        Scans the logical dump and the raw database files (free pages, WAL, journal) for the key in
        every encoding the scanner knows."""
        return ok(
            "No key canary found in 3 database files (41 KiB) or the logical dump.",
            ref("db", "snapshot after-put: app.db, app.db-wal", "3 files, 41984 bytes scanned"),
        )

    @check(
        id="ENC-04",
        title="Ciphertexts are randomized",
        severity=H,
        threats=[T1],
        questions=[Q1],
        remediation="Use a fresh random nonce for every encryption.",
    )
    def enc04(bundle: EvidenceBundle) -> Verdict:
        """The same key stored twice must give two different ciphertexts."""
        return ok(
            "The same key stored by two users gave two different ciphertexts.",
            ref("db", "table api_keys, column ciphertext, rows alice and bob"),
        )

    @check(
        id="ENC-05",
        title="Ciphertexts are authenticated",
        severity=H,
        threats=[T1],
        questions=[Q1],
        remediation="Use AES-GCM or ChaCha20-Poly1305 and refuse records that fail to verify.",
    )
    def enc05(bundle: EvidenceBundle) -> Verdict:
        """A one-bit flip in the stored ciphertext must make the platform refuse the key."""
        return ok(
            "After a one-bit flip the platform refused the prompt and made no upstream call.",
            ref("step", "step 14 (tamper: tamper as alice)", "byte 23, bit 4 flipped"),
        )

    @check(
        id="ENC-07",
        title="Ciphertext shape fits an AEAD",
        severity=L,
        threats=[T1],
        questions=[Q1],
        remediation="Store nonce, ciphertext and tag together in a versioned record.",
    )
    def enc07(bundle: EvidenceBundle) -> Verdict:
        """Length and entropy of the stored value should match nonce + ciphertext + tag."""
        return Verdict.warn(
            "Stored values are 124 bytes for a 108-byte key: no room for a 12-byte nonce and a 16-byte tag.",
            [ref("db", "table api_keys, column ciphertext", "length 124, entropy 7.4 bits/byte")],
        )

    @check(
        id="RTE-01",
        title="The key goes only to provider hosts",
        severity=C,
        threats=[T2],
        questions=[Q2],
        remediation="Call the provider API directly; never forward the key elsewhere.",
    )
    def rte01(bundle: EvidenceBundle) -> Verdict:
        """The user's key must travel to the provider and nowhere else."""
        return ok(
            "The key was sent in 9 requests, all to api.anthropic.com.",
            ref("exchange", "exchange 4: POST https://api.anthropic.com/v1/messages"),
        )

    @check(
        id="RTE-03",
        title="One provider request per user request",
        severity=M,
        threats=[T2],
        questions=[Q2],
        remediation="Send one upstream request per prompt; make retries explicit and bounded.",
    )
    def rte03(bundle: EvidenceBundle) -> Verdict:
        """Extra upstream calls spend the user's money without the user asking."""
        return Verdict.failed(
            "Prompt step 9 caused 2 provider requests with identical bodies, 40 ms apart (not a retry after an error).",
            [
                ref(
                    "exchange",
                    "exchange 11: POST https://api.anthropic.com/v1/messages",
                    "200 OK, 1.2 s",
                ),
                ref(
                    "exchange",
                    "exchange 12: POST https://api.anthropic.com/v1/messages",
                    "200 OK, 1.1 s",
                ),
            ],
        )

    @check(
        id="RTE-05",
        title="No egress bypasses the proxy",
        severity=H,
        threats=[T2],
        questions=[Q2],
        remediation="Send all outbound traffic through the configured proxy.",
        optional=True,
    )
    def rte05(bundle: EvidenceBundle) -> Verdict:
        """Sealed egress (a network namespace) proves nothing leaves except through the proxy."""
        raise EvidenceMissing(
            "sealed egress needs root (network namespaces); the run was not sealed"
        )

    @check(
        id="LOG-01",
        title="No prompt text in logs",
        severity=C,
        threats=[T3],
        questions=[Q3],
        remediation="Log metadata only: never request or response bodies.",
    )
    def log01(bundle: EvidenceBundle) -> Verdict:
        """Prompts are the user's data; logs are read by many people and kept for long."""
        return ok(
            "The prompt canary is absent from app.log, stdout and stderr (3 files, 18 KiB).",
            ref("file", "app.log", "212 lines scanned"),
        )

    @check(
        id="LOG-05",
        title="Error paths leak nothing",
        severity=H,
        threats=[T3],
        questions=[Q3],
        remediation="Scrub request bodies from exception handlers and error logs.",
    )
    def log05(bundle: EvidenceBundle) -> Verdict:
        """Error handlers often dump the failing request; that request holds the prompt."""
        prompt = bundle.canaries.get("prompt").value
        key = bundle.canaries.get("key-alice-1").value
        return Verdict.failed(
            "On a provider 500 the platform logged the request body, prompt included.",
            [
                ref(
                    "file",
                    "app.log:187",
                    f'ERROR upstream failed x-api-key={key} body={{"messages":[{{"content":"{prompt}"}}]}}',
                ),
                ref("step", "step 21 (errors: prompt as alice)", "fault 500 armed"),
            ],
        )

    @check(
        id="LOG-06",
        title="A metadata audit record exists per request",
        severity=L,
        threats=[],
        questions=[Q3],
        remediation="Write one structured audit record per request.",
    )
    def log06(bundle: EvidenceBundle) -> Verdict:
        """Without an audit trail a key misuse cannot be investigated."""
        return ok("unreachable: declared out of scope")

    @check(
        id="ROT-02",
        title="After delete, calls fail and nothing goes upstream",
        severity=C,
        threats=[],
        questions=[Q4],
        remediation="Delete the stored key and any cached copy at once.",
    )
    def rot02(bundle: EvidenceBundle) -> Verdict:
        """A deleted key must be gone: no cached copy may keep working."""
        return ok(
            "After delete, the next prompt was refused with 409 and nothing went upstream.",
            ref("api", "DELETE /api/v1/claude-key as alice → 204"),
            ref("api", "POST /api/v1/messages as alice → 409"),
        )

    @check(
        id="ROT-03",
        title="Delete is a hard delete",
        severity=H,
        threats=[T1],
        questions=[Q4],
        remediation="Delete the row and enable secure_delete; checkpoint the WAL.",
    )
    def rot03(bundle: EvidenceBundle) -> Verdict:
        """A soft delete leaves the ciphertext for the next database thief."""
        return ok(
            "The old ciphertext bytes are gone from app.db and app.db-wal after delete.",
            ref("db", "snapshot after-delete: app.db, app.db-wal"),
        )

    @check(
        id="API-03",
        title="One user cannot touch another user's key",
        severity=C,
        threats=[T2],
        questions=[],
        remediation="Authorize every key operation against the authenticated user.",
    )
    def api03(bundle: EvidenceBundle) -> Verdict:
        """Cross-user access would let any account spend any other account's key."""
        return ok(
            "Bob's read, replace, delete and use of Alice's key were all refused (403).",
            ref("api", "GET /api/v1/claude-key?user=alice as bob → 403"),
            ref("note", "4 cross-user attempts, 4 refused"),
        )

    return [
        enc01,
        enc04,
        enc05,
        enc07,
        rte01,
        rte03,
        rte05,
        log01,
        log05,
        log06,
        rot02,
        rot03,
        api03,
    ]


CATALOG: tuple[Check, ...] = tuple(_catalog())


def waivers_text(bundle: EvidenceBundle) -> str:
    log05 = next(c for c in CATALOG if c.id == "LOG-05")
    fingerprint = evidence_fingerprint(log05.run(bundle))
    return f"""# Accepted risks for acme-chat
[[waiver]]
check = "LOG-05"
target = "acme-chat"
fingerprint = "{fingerprint}"
justification = "Error logs go to a restricted bucket with 7-day retention; scrubbing ships in 2.4"
owner = "platform-security@acme.example"
expires = 2026-03-31
ticket = "SEC-1234"

[[waiver]]
check = "ENC-07"
target = "acme-chat"
justification = "Legacy record format, migration planned"
owner = "storage-team@acme.example"
expires = 2026-01-10
"""


def sample_result(gate: GatePolicy | None = None) -> AuditResult:
    bundle = sample_bundle()
    waivers = parse_waivers(waivers_text(bundle), "waivers.toml")
    result = evaluate(
        bundle,
        today=TODAY,
        waivers=waivers,
        gate=gate,
        checks=CATALOG,
        bundle_digest=DIGEST,
        code_attestation=CodeAttestation(
            statement="Source code is public under Apache-2.0; independent audit by Example Security Ltd, 2025-11.",
            attested_by="Acme Inc. (security@acme.example)",
            reference="https://github.com/acme/acme-chat",
        ),
    )
    # Pin the versions so a release does not churn the golden files.
    return result.model_copy(update={"tool_version": "0.1.0", "criteria_version": "1"})

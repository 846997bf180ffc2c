"""Signed results: every kind of tampering is detected, by the library and by ``byok-audit verify``."""

import base64
import hashlib
import json
import stat

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from byok_audit.attest import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    AttestationError,
    VerificationError,
    attest,
    generate_key,
    load_private_key,
    load_public_key,
    pae,
    verify,
)
from byok_audit.cli import main
from byok_audit.formats import json as json_format
from tests.formats.sample import sample_result


@pytest.fixture(scope="module")
def result_bytes():
    return json_format.render(sample_result()).encode()


@pytest.fixture
def keys(tmp_path):
    path = tmp_path / "vendor.pem"
    generate_key(path)
    return path, tmp_path / "vendor.pem.pub"


@pytest.fixture
def signed(keys, result_bytes):
    return attest(result_bytes, load_private_key(keys[0]))


def payload(envelope):
    return json.loads(base64.b64decode(json.loads(envelope)["payload"]))


def reseal(envelope, statement):
    """Replace the payload without re-signing (an attacker without the key)."""
    data = json.loads(envelope)
    data["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    return json.dumps(data)


def test_pae_matches_the_dsse_spec():
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_statement_shape(signed, result_bytes):
    envelope = json.loads(signed)
    assert envelope["payloadType"] == PAYLOAD_TYPE
    statement = payload(signed)
    assert statement["_type"] == STATEMENT_TYPE
    assert statement["predicateType"] == PREDICATE_TYPE
    assert statement["subject"] == [
        {"name": "acme-chat", "digest": {"sha256": hashlib.sha256(result_bytes).hexdigest()}}
    ]
    predicate = statement["predicate"]
    assert predicate["criteria_version"] == "1"
    assert predicate["grades"] == {"raw": "C", "effective": "B"}
    assert predicate["score"] == {"raw": 85.7, "effective": 93.8}
    assert {"id": "RTE-03", "status": "FAIL", "severity": "medium"} in predicate["checks"]
    assert predicate["gate"]["passed"] is False
    assert predicate["bundle_digest"].startswith("sha256:")


def test_verifies(signed, keys, result_bytes):
    verified = verify(
        signed, load_public_key(keys[1]), result_bytes=result_bytes, criteria_version="1"
    )
    assert "grade B (raw C)" in verified.summary


def test_tampered_payload(signed, keys):
    statement = payload(signed)
    statement["predicate"]["grades"]["effective"] = "A+"
    with pytest.raises(VerificationError, match=r"^signature: no signature verifies"):
        verify(reseal(signed, statement), load_public_key(keys[1]))


def test_tampered_signature(signed, keys):
    data = json.loads(signed)
    sig = bytearray(base64.b64decode(data["signatures"][0]["sig"]))
    sig[0] ^= 1
    data["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    with pytest.raises(VerificationError, match=r"^signature"):
        verify(json.dumps(data), load_public_key(keys[1]))


def test_tampered_payload_type(signed, keys):
    data = json.loads(signed)
    data["payloadType"] = "application/json"
    with pytest.raises(VerificationError, match="payloadType"):
        verify(json.dumps(data), load_public_key(keys[1]))


def test_tampered_subject_digest(signed, keys):
    statement = payload(signed)
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    with pytest.raises(VerificationError, match=r"^signature"):
        verify(reseal(signed, statement), load_public_key(keys[1]))


def test_result_file_changed_after_signing(signed, keys, result_bytes):
    changed = result_bytes.replace(
        b'"effective": {\n    "grade": "B"', b'"effective": {\n    "grade": "A"'
    )
    assert changed != result_bytes
    with pytest.raises(VerificationError, match=r"^subject digest: the result file has sha256"):
        verify(signed, load_public_key(keys[1]), result_bytes=changed)


def test_resigned_with_another_key(keys, result_bytes):
    forged = attest(result_bytes, Ed25519PrivateKey.generate())
    with pytest.raises(VerificationError, match="no signature verifies with the given public key"):
        verify(forged, load_public_key(keys[1]))


def test_wrong_criteria_version(signed, keys):
    with pytest.raises(VerificationError, match=r"criteria version: .*'1', expected '2'"):
        verify(signed, load_public_key(keys[1]), criteria_version="2")


def test_not_an_envelope(keys):
    with pytest.raises(VerificationError, match="not a DSSE envelope"):
        verify(b'{"payload": "x"}', load_public_key(keys[1]))


def test_generated_key_is_private_and_never_overwritten(keys):
    private, public = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    with pytest.raises(AttestationError, match="already exists"):
        generate_key(private)


def test_rejects_keys_of_the_wrong_kind(tmp_path, keys):
    with pytest.raises(AttestationError, match="not a PEM private key"):
        load_private_key(keys[1])
    with pytest.raises(AttestationError, match="not a PEM public key"):
        load_public_key(keys[0])


def test_rejects_a_non_result(keys):
    with pytest.raises(AttestationError, match="not a byok-audit result"):
        attest(b'{"hello": 1}', load_private_key(keys[0]))


def test_cli_round_trip_and_tamper_detection(tmp_path, result_bytes):
    runner = CliRunner()
    key = tmp_path / "k.pem"
    made = runner.invoke(main, ["attest", "--generate-key", str(key)])
    assert made.exit_code == 0, made.output
    assert "key id sha256:" in made.stderr
    result_path = tmp_path / "result.json"
    result_path.write_bytes(result_bytes)
    signed = runner.invoke(main, ["attest", str(result_path), "--key", str(key)])
    assert signed.exit_code == 0, signed.output
    envelope = tmp_path / "result.intoto.json"
    assert envelope.exists()

    args = ["verify", str(envelope), "--pub", f"{key}.pub", "--result", str(result_path)]
    ok = runner.invoke(main, [*args, "--criteria-version", "1"])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith("verified: target acme-chat: grade B (raw C)")

    wrong = runner.invoke(main, [*args, "--criteria-version", "2"])
    assert wrong.exit_code == 1
    assert "verification failed: criteria version" in wrong.stderr

    result_path.write_bytes(result_bytes + b" ")
    tampered = runner.invoke(main, args)
    assert tampered.exit_code == 1
    assert "verification failed: subject digest" in tampered.stderr


def test_cli_usage_errors_exit_3(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["attest"]).exit_code == 3
    missing_key = runner.invoke(
        main, ["attest", str(tmp_path / "r.json"), "--key", str(tmp_path / "k")]
    )
    assert missing_key.exit_code == 3 and "cannot read private key" in missing_key.output
    no_pub = runner.invoke(main, ["verify", str(tmp_path / "e.json")])
    assert no_pub.exit_code == 3 and "Missing option '--pub'" in no_pub.output

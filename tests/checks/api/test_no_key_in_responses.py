import gzip
import json
import zlib

import brotli
import pytest
import zstandard

from byok_audit.checks.api.no_key_in_responses import no_key_in_responses
from byok_audit.models.canary import CanaryTable
from byok_audit.models.finding import Status
from tests import builders as b

ENCODERS = {
    "br": brotli.compress,
    "deflate": lambda data: zlib.compress(data)[2:-4],  # raw deflate, as some servers send it
    "gzip": gzip.compress,
    "zstd": zstandard.ZstdCompressor().compress,
}
TABLE = CanaryTable.fresh()
KEY = TABLE.key("alice-1", "alice")


def run(put_reply: dict, get_reply: dict | None = None, put_encoding: str | None = None):
    get_reply = get_reply or {"fingerprint": "3f2a9c1d", "last4": KEY.value[-4:]}
    put_body = json.dumps(put_reply).encode()
    put_headers = []
    if put_encoding is not None:
        put_body = ENCODERS[put_encoding](put_body)
        put_headers = [("Content-Encoding", put_encoding)]
    steps = [
        b.step(
            "put_key",
            0,
            user="alice",
            calls=[
                b.call("PUT", "http://t/k", response_body=put_body, response_headers=put_headers)
            ],
        ),
        b.step(
            "get_key",
            1,
            user="alice",
            calls=[b.call("GET", "http://t/k", response_body=json.dumps(get_reply).encode())],
        ),
    ]
    return no_key_in_responses.run(b.bundle(canaries=TABLE, steps=steps))


def test_suffix_only_responses_pass():
    result = run({"saved": True})
    assert result.status == Status.PASS
    assert "scanned 2 API responses" in result.summary


def test_echoed_key_fails():
    result = run({"saved": True, "api_key": KEY.value})
    assert result.status == Status.FAIL
    assert result.evidence[0].ref.startswith("step 0 (put_key)")
    assert KEY.value not in result.model_dump_json()


def test_long_masked_preview_is_a_fragment_leak():
    preview = KEY.value[:24] + "…" + KEY.value[-4:]
    assert run({"saved": True}, {"preview": preview}).status == Status.FAIL


def test_no_key_call_answered_is_an_error():
    step = b.step("put_key", 0, calls=[b.call("PUT", "http://t/k", status=None, error="timeout")])
    assert no_key_in_responses.run(b.bundle(canaries=TABLE, steps=[step])).status == Status.ERROR


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_key_echoed_in_a_compressed_reply_fails(encoding):
    result = run({"saved": True, "api_key": KEY.value}, put_encoding=encoding)
    assert result.status == Status.FAIL
    assert KEY.value not in result.model_dump_json()


def test_compressed_replies_without_the_key_pass():
    assert run({"saved": True}, put_encoding="br").status == Status.PASS

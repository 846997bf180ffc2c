from byok_audit.checks.use.allowed_endpoints import allowed_endpoints, endpoint_allowed
from byok_audit.models.canary import CanaryTable
from byok_audit.models.finding import Status
from tests import builders as b

TABLE = CanaryTable.fresh()
KEY = TABLE.key("alice-1", "alice")


def run(*exchanges, **target):
    step = b.step("prompt", exchange_ids=[e.id for e in exchanges])
    bundle = b.bundle(
        canaries=TABLE, target=b.target(**target), steps=[step], exchanges=list(exchanges)
    )
    return allowed_endpoints.run(bundle)


def test_inference_endpoints_pass():
    result = run(b.keyed(KEY), b.keyed(KEY, method="GET", path="/v1/models"))
    assert result.status == Status.PASS
    assert "POST /v1/messages ×1" in result.summary


def test_admin_endpoint_fails():
    admin = b.keyed(KEY, method="GET", path="/v1/organizations/users")
    result = run(b.keyed(KEY), admin)
    assert result.status == Status.FAIL
    assert "admin/organization endpoint" in result.evidence[0].detail


def test_wildcard_patterns():
    models = b.exchange(method="GET", path="/v1/models/claude-x")
    assert endpoint_allowed(models, ["GET /v1/models*"])
    assert endpoint_allowed(models, ["* /v1/models/claude-x"])
    assert not endpoint_allowed(models, ["POST /v1/models*", "GET /v1/models"])


def test_missing_allow_list_or_key_use_is_an_error():
    assert run(b.keyed(KEY), allowed_endpoints=[]).status == Status.ERROR
    assert run(b.exchange()).status == Status.ERROR

from datetime import date

import pytest

from byok_audit.models.finding import Status
from byok_audit.scoring.waivers import WaiverError, apply_waivers, load_waivers, parse_waivers
from tests.scoring.outcomes import outcome

TODAY = date(2026, 6, 1)


def waiver_toml(check="LOG-06", target="acme", expires="2026-12-31", extra=""):
    return f"""
[[waiver]]
check = "{check}"
target = "{target}"
justification = "accepted: audit records live in the SIEM"
owner = "sec@acme.example"
expires = {expires}
{extra}
"""


def apply(checks, text, target="acme", today=TODAY):
    return apply_waivers(checks, parse_waivers(text, "w.toml"), target=target, today=today)


def test_waiver_turns_fail_into_waived_and_keeps_raw_status():
    checks, outcomes = apply([outcome("LOG-06", Status.FAIL)], waiver_toml())
    assert (checks[0].status, checks[0].raw_status) == (Status.WAIVED, Status.FAIL)
    assert checks[0].waiver == "w.toml:2"
    assert outcomes[0].state == "applied"


def test_waiver_applies_to_warn_but_never_to_pass_error_or_not_applicable():
    assert apply([outcome("LOG-06", Status.WARN)], waiver_toml())[0][0].status is Status.WAIVED
    for status in (Status.PASS, Status.ERROR, Status.NOT_APPLICABLE):
        checks, outcomes = apply([outcome("LOG-06", status)], waiver_toml())
        assert checks[0].status is status
        assert outcomes[0].state == "unused"


def test_expired_waiver_stops_applying_and_is_reported():
    checks, outcomes = apply([outcome("LOG-06", Status.FAIL)], waiver_toml(expires="2026-05-31"))
    assert checks[0].status is Status.FAIL
    assert outcomes[0].state == "expired"
    assert "expired on 2026-05-31" in outcomes[0].note
    assert "FAIL again" in outcomes[0].note


def test_waiver_applies_through_its_expiry_day():
    checks, _ = apply([outcome("LOG-06", Status.FAIL)], waiver_toml(expires="2026-06-01"))
    assert checks[0].status is Status.WAIVED


def test_waiver_for_another_target_does_not_apply():
    checks, outcomes = apply([outcome("LOG-06", Status.FAIL)], waiver_toml(target="other"))
    assert checks[0].status is Status.FAIL
    assert outcomes[0].state == "unused"


def test_fingerprint_scope_never_absorbs_a_new_finding():
    text = waiver_toml(extra='fingerprint = "aaaaaaaaaaaaaaaa"')
    same = apply([outcome("LOG-06", Status.FAIL, fingerprint="a" * 16)], text)[0]
    new = apply([outcome("LOG-06", Status.FAIL, fingerprint="b" * 16)], text)
    assert same[0].status is Status.WAIVED
    assert new[0][0].status is Status.FAIL
    assert "fingerprint" in new[1][0].note


def test_reapplying_starts_from_raw_status():
    waived, _ = apply([outcome("LOG-06", Status.FAIL)], waiver_toml())
    again, outcomes = apply(waived, waiver_toml(expires="2026-01-01"))
    assert again[0].status is Status.FAIL
    assert again[0].waiver is None
    assert outcomes[0].state == "expired"


def test_second_waiver_for_the_same_check_is_unused():
    checks, outcomes = apply([outcome("LOG-06", Status.FAIL)], waiver_toml() + waiver_toml())
    assert checks[0].waiver == "w.toml:2"
    assert [o.state for o in outcomes] == ["applied", "unused"]
    assert "already waived by w.toml:2" in outcomes[1].note


def test_unknown_check_id_is_an_error_naming_the_waiver():
    with pytest.raises(
        WaiverError, match=r"w\.toml:2: check: 'LOG-99' is not a check of this audit"
    ):
        apply([outcome("LOG-06", Status.FAIL)], waiver_toml(check="LOG-99"))


def test_missing_field_names_file_line_and_field():
    text = (
        waiver_toml()
        + '\n[[waiver]]\ncheck = "ENC-01"\ntarget = "acme"\nowner = "x"\nexpires = 2026-01-01\n'
    )
    with pytest.raises(WaiverError) as error:
        parse_waivers(text, "w.toml")
    assert "w.toml:10: waiver[2].justification: Field required" in str(error.value)


def test_bad_value_and_unknown_field_name_their_lines():
    text = waiver_toml(expires='"next year"', extra='reason = "typo for justification"')
    with pytest.raises(WaiverError) as error:
        parse_waivers(text, "w.toml")
    message = str(error.value)
    assert "w.toml:7: waiver[1].expires:" in message
    assert "w.toml:8: waiver[1].reason: Extra inputs are not permitted" in message


def test_expiry_is_required_and_text_must_not_be_blank():
    text = '[[waiver]]\ncheck = "A-01"\ntarget = "t"\njustification = "  "\nowner = "o"\n'
    with pytest.raises(WaiverError) as error:
        parse_waivers(text, "w.toml")
    assert "w.toml:4: waiver[1].justification" in str(error.value)
    assert "w.toml:1: waiver[1].expires: Field required" in str(error.value)


def test_invalid_toml_names_the_file(tmp_path):
    path = tmp_path / "waivers.toml"
    path.write_text("[[waiver]\n")
    with pytest.raises(WaiverError, match=r"waivers\.toml: not valid TOML"):
        load_waivers(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(WaiverError, match="cannot read waivers file"):
        load_waivers(tmp_path / "nope.toml")

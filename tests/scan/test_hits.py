from __future__ import annotations

import pytest
from pydantic import ValidationError

from byok_audit.scan import Hit


def _hit(source: str, offset: int = 0, canary_id: str | None = "k1", form: str = "raw") -> Hit:
    role = "key" if canary_id else "shape:anthropic-api03"
    return Hit(
        canary_id=canary_id,
        role=role,
        fingerprint="abcd1234",
        form=form,
        source=source,
        offset=offset,
        line=1,
        excerpt="",
    )


def test_hits_sort_by_source_naturally_then_offset_canary_and_form() -> None:
    hits = [
        _hit("exchange 10 request body"),
        _hit("exchange 2 request body", 5, form="raw"),
        _hit("exchange 2 request body", 5, form="base64"),
        _hit("exchange 2 request body", 5, canary_id=None),
        _hit("exchange 2 request body", 1),
    ]
    ordered = sorted(hits, key=lambda h: h.sort_key)
    assert [(h.source[:10], h.offset, h.canary_id, h.form) for h in ordered] == [
        ("exchange 2", 1, "k1", "raw"),
        ("exchange 2", 5, None, "raw"),
        ("exchange 2", 5, "k1", "base64"),
        ("exchange 2", 5, "k1", "raw"),
        ("exchange 1", 0, "k1", "raw"),
    ]


def test_labels_name_the_needle_without_the_secret() -> None:
    assert _hit("f").label == "key:k1#abcd1234"
    assert _hit("f", canary_id=None).label == "shape:anthropic-api03#abcd1234"


def test_hits_are_strict_and_frozen() -> None:
    with pytest.raises(ValidationError):
        Hit.model_validate({**_hit("f").model_dump(), "secret": "x"})
    with pytest.raises(ValidationError):
        _hit("f").offset = 3  # type: ignore[misc]

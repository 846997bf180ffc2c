from __future__ import annotations

import json

from byok_audit.scan import Hit
from byok_audit.scan.report import artifact_uri, render_json, render_sarif, render_text


def _hit(source: str, form: str = "raw", role: str = "key", canary_id: str | None = "k1") -> Hit:
    return Hit(
        canary_id=canary_id,
        role=role,
        fingerprint="abcd1234",
        form=form,
        source=source,
        offset=40,
        line=3,
        excerpt="x-api-key: «key:k1#abcd1234»",
        length=108,
    )


HITS = [
    _hit("logs/app.log"),
    _hit("logs/app.log.2.gz", "gzip+raw"),
    _hit("data/app.db!zstd@4096", "zstd+base64"),
    _hit("/var/log/my app.log", role="shape:openai-proj", canary_id=None),
]


def test_text_lists_file_line_label_and_form() -> None:
    text = render_text(HITS[:1], summary="1 hit")
    assert text == (
        "logs/app.log:3: key:k1#abcd1234 as raw at byte 40: x-api-key: «key:k1#abcd1234»\n1 hit\n"
    )


def test_json_is_a_list_of_hits() -> None:
    assert [Hit.model_validate(item) for item in json.loads(render_json(HITS))] == HITS


def test_artifact_uris_point_at_the_file() -> None:
    assert artifact_uri("logs/app.log") == "logs/app.log"
    assert artifact_uri("data/app.db!zstd@4096") == "data/app.db"
    assert artifact_uri("data/a.gz!gzip@10!zstd@3") == "data/a.gz"
    assert artifact_uri("logs/ship.log!base64+gzip@9!zstd@3") == "logs/ship.log"
    assert artifact_uri("/var/log/my app.log") == "file:///var/log/my%20app.log"
    assert artifact_uri("logs\\win.log") == "logs/win.log"


def test_sarif_has_a_rule_per_role_and_form_and_a_location_per_result() -> None:
    sarif = json.loads(render_sarif(HITS, warnings=["x.gz: gzip stream unreadable"]))
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [
        "key/raw",
        "key/gzip+raw",
        "key/zstd+base64",
        "shape:openai-proj/raw",
    ]
    assert all(r["shortDescription"]["text"] and r["help"]["text"] for r in rules)
    for result, hit in zip(run["results"], HITS, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == artifact_uri(hit.source)
        assert location["region"]["startLine"] == 3
        assert "abcd1234" in result["message"]["text"]
    plain, inflated, embedded, _ = (
        r["locations"][0]["physicalLocation"]["region"] for r in run["results"]
    )
    assert (plain["byteOffset"], plain["byteLength"]) == (40, 108)
    assert "byteOffset" not in inflated and "byteOffset" not in embedded
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["message"]["text"] == "x.gz: gzip stream unreadable"


def test_sarif_points_a_hit_in_base64_compressed_data_at_its_file() -> None:
    hit = _hit("logs/ship.log!base64+gzip@9", "base64+gzip+raw")
    result = json.loads(render_sarif([hit]))["runs"][0]["results"][0]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "logs/ship.log"
    assert "byteOffset" not in location["region"], "the offset is in the inflated data"
    assert "(inside logs/ship.log!base64+gzip@9)" in result["message"]["text"]
    plain = json.loads(render_sarif([_hit("logs/app.log", "base64")]))["runs"][0]["results"][0]
    assert plain["locations"][0]["physicalLocation"]["region"]["byteOffset"] == 40

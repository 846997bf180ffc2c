from xml.etree import ElementTree as ET

from byok_audit.formats import badge
from byok_audit.models.result import Grade
from tests.formats.sample import sample_result

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg):
    root = ET.fromstring(svg.encode())  # noqa: S314 - our own output
    return [t.text for t in root.iter(f"{SVG}text")], root


def test_golden(result, golden):
    golden("badge.svg", badge.render(result))


def test_shows_grade_date_and_criteria_version(result):
    shown, root = texts(badge.render(result))
    assert shown[-1] == "B (raw C) · 2026-01-01 · criteria v1"
    assert root.get("aria-label") == "BYOK audit: B (raw C) · 2026-01-01 · criteria v1 (acme-chat)"
    assert 'fill="#c0a000"' in badge.render(result)


def test_self_contained_and_sized_to_its_text(result):
    svg = badge.render(result)
    assert "href" not in svg and "<script" not in svg and "<image" not in svg
    _, root = texts(svg)
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("x")]
    assert int(root.get("width")) == int(rects[0].get("x")) + int(rects[0].get("width"))


def test_color_follows_the_grade():
    clean = sample_result().model_copy(deep=True)
    clean.effective.grade = Grade.A_PLUS
    clean.raw.grade = Grade.A_PLUS
    svg = badge.render(clean)
    assert badge.COLORS[Grade.A_PLUS] in svg
    assert texts(svg)[0][-1].startswith("A+ · ")


def test_target_name_is_escaped(result):
    named = result.model_copy(update={"target": result.target.model_copy(update={"name": '<x">&'})})
    _, root = texts(badge.render(named))
    assert root.find(f"{SVG}title").text.endswith('(<x">&)')

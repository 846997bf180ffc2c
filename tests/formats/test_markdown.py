from byok_audit.formats import markdown
from tests.formats.hostile import hostile


def test_golden(result, golden):
    golden("scorecard.md", markdown.render(result))


def test_grade_gate_and_failures_come_first(result):
    text = markdown.render(result)
    assert text.index("**Grade B** with waivers (raw **C**)") < text.index("### Caps")
    assert "**Gate failed** (exit 1)" in text
    assert text.index("### Needs attention") < text.index("### The five questions")
    attention = text.split("### Needs attention")[1].split("###")[0]
    assert "RTE-03" in attention and "ENC-01" not in attention


def test_target_text_cannot_render_links_images_or_html(result):
    text = markdown.render(hostile(result))
    assert "<script" not in text and "<img" not in text
    assert "![" not in text and "](" not in text.replace("\\](", "")
    row = next(line for line in text.splitlines() if line.startswith("| RTE-03"))
    assert row.count("|") - row.count("\\|") == 5  # four cells: the payload's pipe is escaped

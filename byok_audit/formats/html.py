"""The HTML scorecard for security reviewers: one self-contained file, readable offline and on paper.

No script, no web font, no network: the page carries a Content-Security-Policy that forbids every load,
and all text is escaped by jinja2 (summaries and evidence come from the platform under test, which is
untrusted). The template is ``templates/scorecard.html.j2`` in this package.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from byok_audit.formats.words import (
    ANSWER_WORDS,
    STATUS_LABELS,
    STATUS_ORDER,
    STATUS_WORDS,
    score_text,
    urgent_first,
)
from byok_audit.models.finding import Status
from byok_audit.models.result import AuditResult

NAME = "html"
SUFFIX = ".html"

#: Size budget: a scorecard must open in any browser; the JSON result keeps everything.
MAX_DETAIL_CHARS = 4000
MAX_EVIDENCE_PER_CHECK = 50


def clip(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… {len(text) - limit} more characters in the JSON result"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("byok_audit.formats", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["score"] = score_text
    env.filters["clip"] = clip
    env.filters["css"] = lambda value: str(value).lower().replace("+", "-plus").replace("_", "-")
    env.filters["paragraphs"] = lambda text: [
        p.strip() for p in str(text).split("\n\n") if p.strip()
    ]
    return env


def render(result: AuditResult) -> str:
    template = environment().get_template("scorecard.html.j2")
    return template.render(
        r=result,
        checks=urgent_first(result.checks),
        status_order=STATUS_ORDER,
        status_words=STATUS_WORDS,
        status_labels=STATUS_LABELS,
        answer_words=ANSWER_WORDS,
        Status=Status,
        duration=int((result.ended - result.started).total_seconds()),
        max_evidence=MAX_EVIDENCE_PER_CHECK,
    )

"""The annotated corpus: exactly the expected hits, for both engines, any chunk size, both modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from byok_audit.scan import Hit, Scanner
from byok_audit.scan.shapes import SHAPES
from tests.scan.support import Expected, Rendered, canaries, render_corpus, values


def _key(hit: Hit, root: Path) -> Expected:
    source = Path(hit.source.split("!")[0]).relative_to(root).as_posix()
    member = hit.source[len(hit.source.split("!")[0]) :]
    needle = hit.canary_id if hit.canary_id is not None else hit.role
    exact = hit.offset if member or source.endswith(".bin") else None
    return Expected(source + member, hit.line, needle, hit.form, exact)


def _expected(rendered: list[Rendered], *, shapes: bool) -> set[Expected]:
    return {e for r in rendered for e in r.expected if shapes or not e.shape}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Rendered]]:
    root = tmp_path_factory.mktemp("corpus")
    return root, render_corpus(root)


REQUIRED_FORMS = {
    "raw", "base64", "hex", "hex-upper", "percent", "json-escape", "python-escape", "utf16le",
    "utf16be", "fragment", "sha256-hex", "sha256-hex-upper", "sha256-base64", "sha1-hex",
    "sha1-base64", "md5-hex", "md5-base64", "md5-base64url", "sha256-base64+json-escape",
    "sse-reassembled", "hex-decoded", "hex-decoded+base64", "hex-decoded+base64url", "upper",
    "gzip+raw", "zstd+raw", "zstd+base64", "base64+gzip+raw", "base64+zlib+raw", "base64+zstd+raw",
}  # fmt: skip


def test_the_corpus_covers_every_form_and_has_near_misses(
    corpus: tuple[Path, list[Rendered]],
) -> None:
    _, rendered = corpus
    forms = {e.form for r in rendered for e in r.expected}
    assert not REQUIRED_FORMS - forms, "forms the corpus does not exercise"
    assert sum(r.near_misses for r in rendered) >= 15
    assert {e.needle for r in rendered for e in r.expected if e.shape} == {
        f"shape:{shape.name}" for shape in SHAPES
    }


@pytest.mark.parametrize("chunk_size", [1 << 22, 4096, 61, 7])
@pytest.mark.parametrize("shapes", [False, True], ids=["canaries", "shapes"])
def test_corpus_hits_exactly(
    engine: str, corpus: tuple[Path, list[Rendered]], chunk_size: int, shapes: bool
) -> None:
    root, rendered = corpus
    scanner = Scanner(canaries(), shapes=shapes, chunk_size=chunk_size)
    hits = scanner.scan_paths([root])
    found = {_key(hit, root) for hit in hits}
    wanted = _expected(rendered, shapes=shapes)
    assert sorted(found - wanted, key=repr) == [], "unexpected hits"
    assert sorted(wanted - found, key=repr) == [], "missed hits"
    assert len(hits) == len(found), "one hit per needle and place"
    assert scanner.engine_name == engine


def test_corpus_output_never_holds_a_whole_secret(corpus: tuple[Path, list[Rendered]]) -> None:
    root, _ = corpus
    hits = Scanner(canaries(), shapes=True).scan_paths([root])
    text = "\n".join(hit.model_dump_json() for hit in hits)
    for name, value in values().items():
        assert value not in text, name

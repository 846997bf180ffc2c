"""The format registry, output specs and writing."""

import json
import pkgutil

import pytest

import byok_audit.formats as formats_package
from byok_audit.formats import FORMATS, OutputSpec, OutputSpecError, write_outputs

HELPERS = {"words"}


def test_registry_lists_every_format_module():
    modules = {m.name for m in pkgutil.iter_modules(formats_package.__path__)} - HELPERS
    assert set(FORMATS) == modules
    assert set(FORMATS) == {"html", "json", "junit", "sarif", "markdown", "badge"}


def test_rendering_is_pure(result):
    for fmt in FORMATS.values():
        assert fmt.render(result) == fmt.render(result), fmt.name


def test_output_spec_parsing():
    assert OutputSpec.parse("html:out/report.html") == OutputSpec("html", "out/report.html")
    assert OutputSpec.parse("json:-") == OutputSpec("json", "-")
    assert OutputSpec.parse("sarif:C:/x.sarif") == OutputSpec("sarif", "C:/x.sarif")
    with pytest.raises(OutputSpecError, match="expected FORMAT:PATH"):
        OutputSpec.parse("report.html")
    with pytest.raises(OutputSpecError, match=r"unknown format 'pdf' \(known: html, json"):
        OutputSpec.parse("pdf:x.pdf")


def test_write_outputs_creates_files_and_writes_stdout(result, tmp_path, capsys):
    specs = [OutputSpec("json", str(tmp_path / "deep" / "r.json")), OutputSpec("markdown", "-")]
    assert write_outputs(result, specs) == [str(tmp_path / "deep" / "r.json"), "-"]
    assert json.loads((tmp_path / "deep" / "r.json").read_text())["run_id"] == result.run_id
    assert capsys.readouterr().out.startswith("## byok-audit: acme-chat")

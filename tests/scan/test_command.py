from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from byok_audit.cli import main
from tests.scan.support import values

VALUES = values()
SECRETS = list(VALUES.values())


def _run(*args: str | Path) -> Result:
    result = CliRunner().invoke(main, ["scan", *map(str, args)])
    for secret in SECRETS:
        assert secret not in result.output, "a whole secret in the output"
        assert secret not in (result.stderr or "")
    return result


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    directory = tmp_path / "logs"
    directory.mkdir()
    (directory / "app.log").write_text(f"INFO ok\nDEBUG key={VALUES['KEY1']}\n")
    (directory / "app.log.1.gz").write_bytes(
        gzip.compress(f"DEBUG auth Bearer {VALUES['OTHEROAI']}\n".encode())
    )
    (directory / "clean.log").write_text("INFO nothing\n")
    return directory


@pytest.fixture
def needles(tmp_path: Path) -> Path:
    path = tmp_path / "needles.txt"
    path.write_text(f"# our canaries\n\n{VALUES['KEY1']}\nprompt\t{VALUES['PROMPT']}\n")
    return path


def test_a_clean_directory_exits_0(tmp_path: Path) -> None:
    (tmp_path / "clean.log").write_text("INFO nothing to see\n")
    result = _run(tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("no hits; scanned 1 file(s)")


def test_shapes_mode_finds_real_shaped_keys_and_exits_1(logs: Path) -> None:
    result = _run(logs)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{logs / 'app.log'}:2: shape:anthropic-api03#")
    assert lines[1].startswith(f"{logs / 'app.log.1.gz'}:1: shape:openai-proj#")
    assert "as gzip+raw" in lines[1]
    assert lines[2].startswith("2 hit(s) in 2 source(s)")


def test_a_needle_file_adds_canary_hits_in_every_form(
    logs: Path, needles: Path, tmp_path: Path
) -> None:
    (logs / "b64.log").write_bytes(
        b"blob " + __import__("base64").b64encode(VALUES["PROMPT"].encode())
    )
    result = _run(logs, "--needle-file", needles, "--format", "json")
    assert result.exit_code == 1
    hits = json.loads(result.stdout)
    assert [(h["canary_id"], h["role"], h["form"]) for h in hits] == [
        ("line3", "key", "raw"),
        (None, "shape:openai-proj", "gzip+raw"),
        ("line4", "prompt", "base64"),
    ]


def test_sarif_output_locates_every_result(logs: Path, needles: Path, tmp_path: Path) -> None:
    out = tmp_path / "scan.sarif"
    result = _run(logs, "--needle-file", needles, "--format", "sarif", "--output", out)
    assert result.exit_code == 1 and result.stdout == ""
    text = out.read_text()
    assert not any(secret in text for secret in SECRETS)
    sarif = json.loads(text)
    results = sarif["runs"][0]["results"]
    assert len(results) == 2
    for item in results:
        location = item["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].endswith((".log", ".gz"))
        assert location["region"]["startLine"] >= 1


def test_display_suffix_and_no_shapes(tmp_path: Path, needles: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text(f"key ends in {VALUES['KEY1'][-10:]}\n{VALUES['OTHERKEY']}\n")
    assert _run(log, "--needle-file", needles, "--no-shapes").exit_code == 1
    assert (
        _run(log, "--needle-file", needles, "--no-shapes", "--display-suffix", "12").exit_code == 0
    )
    assert _run(log, "--needle-file", needles, "--display-suffix", "12").exit_code == 1


def test_progress_goes_to_stderr_when_asked(logs: Path) -> None:
    result = _run(logs, "--progress", "--format", "json")
    assert "scanned" in result.stderr and "MiB" in result.stderr
    json.loads(result.stdout)


def test_python_engine_can_be_forced(logs: Path) -> None:
    result = _run(logs, "--engine", "python")
    assert result.exit_code == 1 and "(python engine)" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read needle file"),
        ("short\n", "needles.txt:1: needle shorter than 8"),
        ("# only comments\n\n", "holds no needles"),
        (b"\xff\xfe\x00bad", "cannot read needle file"),
    ],
)
def test_bad_needle_files_exit_2_naming_the_file(
    logs: Path, tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "needles.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = _run(logs, "--needle-file", path)
    assert result.exit_code == 2
    assert message in result.stderr and "needles.txt" in result.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = _run(tmp_path / "nope")
    assert missing.exit_code == 2 and "nope: no such file or directory" in missing.stderr
    assert _run().exit_code == 2
    assert _run(tmp_path, "--format", "xml").exit_code == 2
    nothing = _run(tmp_path, "--no-shapes")
    assert nothing.exit_code == 2 and "nothing to look for" in nothing.stderr


def test_an_unreadable_file_is_not_clean(tmp_path: Path) -> None:
    (tmp_path / "ok.log").write_text("fine\n")
    (tmp_path / "broken").symlink_to(tmp_path / "gone")
    result = _run(tmp_path)
    assert result.exit_code == 2
    assert "not scanned" in result.stderr and "broken" in result.stderr

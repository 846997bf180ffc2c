"""Helpers to run tests/harness/fake_target.py through a real profile."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
FAKE_TARGET = HERE / "fake_target.py"


def write_profile(
    directory: Path, *flags: str, extra: str = "", replace: dict[str, str] | None = None
) -> Path:
    """A copy of fake_target.toml starting the fake target with ``flags``; ``extra`` TOML appended."""
    text = (HERE / "fake_target.toml").read_text()
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    command = ", ".join(f'"{part}"' for part in [str(FAKE_TARGET), *flags])
    text = text.replace('"FAKE_TARGET_PY"', command)
    path = directory / "fake_target.toml"
    path.write_text(text + extra)
    return path

"""Helpers to run tests/harness/fake_target.py through a real profile."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
FAKE_TARGET = HERE / "fake_target.py"


def write_profile(directory: Path, *flags: str, extra: str = "") -> Path:
    """A copy of fake_target.toml that starts the fake target with ``flags``, plus ``extra`` TOML."""
    text = (HERE / "fake_target.toml").read_text()
    command = ", ".join(f'"{part}"' for part in [str(FAKE_TARGET), *flags])
    text = text.replace('"FAKE_TARGET_PY"', command)
    path = directory / "fake_target.toml"
    path.write_text(text + extra)
    return path

"""Package boundaries: the reference server never imports the audit toolkit, and has no URL knob."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "reference_impl"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_reference_impl_never_imports_byok_audit() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert not any(name.split(".")[0] == "byok_audit" for name in _imports(path)), path


def test_provider_url_is_a_single_constant() -> None:
    sources = {path.name: path.read_text() for path in PACKAGE.rglob("*.py")}
    holders = [name for name, text in sources.items() if "https://api.anthropic.com" in text]
    assert holders == ["upstream.py"]
    assert "BASE_URL" not in sources["upstream.py"] and "os.environ" not in sources["upstream.py"]

"""TOML files the user writes (profiles, scenarios, variants, waivers): read them, and point every
error at its file, line and field.

``tomllib`` gives values, not positions. The scanner here walks text that ``tomllib`` already accepted
and records the line of every key path (tables, dotted keys, inline tables, array items), using the
same path shape as pydantic's error ``loc``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path as FilePath
from typing import Any

from pydantic import ValidationError

from byok_audit.errors import ConfigError

Path = tuple[str | int, ...]


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.lines: dict[Path, int] = {}
        self.aot: dict[Path, int] = {}

    def peek(self, n: int = 1) -> str:
        return self.text[self.i : self.i + n]

    def advance(self, n: int = 1) -> None:
        self.line += self.text.count("\n", self.i, self.i + n)
        self.i += n

    def record(self, path: Path) -> None:
        for cut in range(1, len(path) + 1):
            self.lines.setdefault(path[:cut], self.line)

    def skip_blank(self, newlines: bool) -> None:
        while self.i < len(self.text):
            ch = self.peek()
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.advance()
            elif ch == "#":
                while self.i < len(self.text) and self.peek() != "\n":
                    self.advance()
            else:
                return

    def string(self) -> str:
        for quote in ('"""', "'''"):
            if self.peek(3) == quote:
                end = self.text.index(quote, self.i + 3)
                while self.text[end + 3 : end + 4] == quote[0]:
                    end += 1
                value = self.text[self.i + 3 : end]
                self.advance(end + 3 - self.i)
                return value
        quote = self.peek()
        j = self.i + 1
        while self.text[j] != quote:
            j += 2 if quote == '"' and self.text[j] == "\\" else 1
        value = self.text[self.i + 1 : j]
        self.advance(j + 1 - self.i)
        return value

    def key(self) -> Path:
        parts: list[str | int] = []
        while True:
            self.skip_blank(False)
            if self.peek() in "\"'":
                parts.append(self.string())
            else:
                j = self.i
                while j < len(self.text) and (self.text[j].isalnum() or self.text[j] in "_-"):
                    j += 1
                parts.append(self.text[self.i : j])
                self.advance(j - self.i)
            self.skip_blank(False)
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    def value(self, path: Path) -> None:
        self.skip_blank(False)
        ch = self.peek()
        if ch in "\"'":
            self.string()
        elif ch == "{":
            self.advance()
            while True:
                self.skip_blank(True)
                if self.peek() == "}":
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    continue
                sub = path + self.key()
                self.record(sub)
                self.advance()  # '='
                self.value(sub)
        elif ch == "[":
            self.advance()
            index = 0
            while True:
                self.skip_blank(True)
                if self.peek() == "]":
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    index += 1
                    continue
                self.record((*path, index))
                self.value((*path, index))
        else:
            while self.i < len(self.text) and self.peek() not in ",]}\n#":
                self.advance()

    def document(self) -> dict[Path, int]:
        table: Path = ()
        while True:
            self.skip_blank(True)
            if self.i >= len(self.text):
                return self.lines
            if self.peek(2) == "[[":
                self.advance(2)
                name = self.key()
                self.advance(2)
                index = self.aot.get(name, -1) + 1
                self.aot[name] = index
                table = (*name, index)
                self.record(table)
            elif self.peek() == "[":
                self.advance()
                table = self.key()
                self.advance()
                self.record(table)
            else:
                path = table + self.key()
                self.record(path)
                self.advance()  # '='
                self.value(path)


def key_lines(text: str) -> dict[Path, int]:
    """``{key path: line}`` for a document ``tomllib`` accepted (first occurrence wins)."""
    return _Scanner(text).document()


def line_of(lines: dict[Path, int], loc: Path) -> int | None:
    """The line of ``loc`` or of its closest existing parent (a missing field points at its table)."""
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def field_path(loc: Path) -> str:
    """``steps[1].key`` for the pydantic location ``("steps", 1, "key")``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def read_toml(
    path: FilePath, error: type[ConfigError], what: str, *, syntax: str = "TOML syntax error"
) -> tuple[str, dict[str, Any]]:
    """The file's text and parsed document; ``error`` names the file (and the line of a syntax error)."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what}: {exc}", file=file) from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise error(
            f"{syntax}: {exc}", file=file, line=int(line.group(1)) if line else None
        ) from None


def first_problem(
    exc: ValidationError,
    text: str,
    file: str,
    error: type[ConfigError],
    *,
    unknown: str = "unknown field (check its spelling)",
    skip: frozenset[str] = frozenset(),
    whole: Path = (),
) -> ConfigError:
    """The validation error to show, at its line: a misspelt field before the "field required" it
    causes, then how many more there are. ``skip`` drops location parts that are not fields (the tag
    of a discriminated union); ``whole`` is where an error about the whole document points."""
    problem = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    loc = tuple(p for p in problem["loc"] if not (isinstance(p, str) and p in skip)) or whole
    message = problem["msg"].removeprefix("Value error, ")
    if problem["type"] == "extra_forbidden":
        message = unknown
    if exc.error_count() > 1:
        message += f" (and {exc.error_count() - 1} more)"
    return error(
        message, file=file, line=line_of(key_lines(text), loc), field=field_path(loc) or None
    )

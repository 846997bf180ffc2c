"""accepts-malformed-keys: key validation is a prefix check (``sk-ant-api``), so a mistyped or
mangled key (wrong characters, wrong length) is stored, replaces the working one, and is later sent
to the provider; the clean route's full-shape check never sees it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.types import ASGIApp

from reference_impl.apikey import CONSOLE_KEY, PROVIDER_ANTHROPIC
from reference_impl.flaws.base import Flaw
from reference_impl.flaws.front_door import StoringDoor

if TYPE_CHECKING:
    from reference_impl.app import Components

PREFIX = "sk-ant-api"


class PrefixCheckDoor(StoringDoor):
    """Takes what only the prefix check accepts; well-formed keys still go the clean way."""

    def slot(self, value: str) -> str | None:
        if value.startswith(PREFIX) and CONSOLE_KEY.fullmatch(value) is None:
            return PROVIDER_ANTHROPIC
        return None


def wrap(app: ASGIApp, components: Components) -> ASGIApp:
    return PrefixCheckDoor(app, components)


FLAW = Flaw(
    name="accepts-malformed-keys",
    component="front door",
    summary="validates keys by prefix only: malformed keys are stored and replace the working one",
    wrap=wrap,
)

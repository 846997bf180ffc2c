"""accepts-oauth-tokens: a "sign in with your Claude subscription" path stores ``sk-ant-oat01-``
OAuth tokens beside the API key (VibeKit), although Anthropic's terms forbid third parties from
routing requests through consumer subscription credentials.

The token is taken before the clean route validates the body, encrypted with the clean cipher and
stored in its own slot, and the request is answered like a successful PUT.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from starlette.types import ASGIApp

from reference_impl.flaws.base import Flaw
from reference_impl.flaws.front_door import StoringDoor

if TYPE_CHECKING:
    from reference_impl.app import Components

OAUTH_TOKEN = re.compile(r"sk-ant-oat01-[A-Za-z0-9_-]{40,200}")
SUBSCRIPTION_SLOT = "anthropic-oauth"


class SubscriptionTokenDoor(StoringDoor):
    def slot(self, value: str) -> str | None:
        return SUBSCRIPTION_SLOT if OAUTH_TOKEN.fullmatch(value) else None


def wrap(app: ASGIApp, components: Components) -> ASGIApp:
    return SubscriptionTokenDoor(app, components)


FLAW = Flaw(
    name="accepts-oauth-tokens",
    component="front door",
    summary="stores sk-ant-oat01- subscription OAuth tokens instead of refusing them",
    wrap=wrap,
)

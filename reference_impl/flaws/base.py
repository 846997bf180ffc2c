"""What a flaw is: one named swap of one component of the reference server.

A flaw either replaces a part of :class:`reference_impl.app.Components` (``apply``) or wraps the ASGI
app in front of the clean routes (``wrap``). The clean modules never import this package: only
``build_components`` and the CLI apply the flaws named on the command line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope

from reference_impl.apikey import ApiKey
from reference_impl.keyring import Keyring
from reference_impl.settings import Settings
from reference_impl.store import Database
from reference_impl.upstream import Upstream, UpstreamReply, UpstreamStream

if TYPE_CHECKING:
    from reference_impl.app import Components


class FlawError(ValueError):
    """A flaw cannot be applied (unknown name, two flaws on one component, wrong backend)."""


@dataclass(frozen=True)
class FlawContext:
    """What a flaw may need besides the clean components: settings, master keys, the database."""

    settings: Settings
    keyring: Keyring
    db: Database


Apply = Callable[["Components", FlawContext], "Components"]
Wrap = Callable[[ASGIApp, "Components"], ASGIApp]


@dataclass(frozen=True)
class Flaw:
    """``name`` is the ``--flaw`` value; ``component`` the one part it swaps; ``summary`` one line."""

    name: str
    component: str
    summary: str
    apply: Apply | None = None
    wrap: Wrap | None = None

    def __post_init__(self) -> None:
        if (self.apply is None) == (self.wrap is None):
            raise TypeError(f"flaw {self.name!r} must define exactly one of apply or wrap")


def swap(components: Components, **parts: Any) -> Components:
    """A copy of ``components`` with the named parts replaced."""
    return dataclasses.replace(components, **parts)


class UpstreamWrapper:
    """Delegates every call to the clean upstream; a flaw overrides the one it changes."""

    def __init__(self, inner: Upstream) -> None:
        self.inner = inner
        self.host = inner.host

    async def send(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamReply:
        return await self.inner.send(api_key, payload)

    async def open_stream(self, api_key: ApiKey, payload: dict[str, Any]) -> UpstreamStream:
        return await self.inner.open_stream(api_key, payload)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def read_body(receive: Receive) -> bytes:
    """The whole request body (front-door flaws inspect it before the clean routes see it)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes) -> Receive:
    """A ``receive`` that hands ``body`` to the app once, then reports a disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def with_body(scope: Scope, body: bytes) -> Scope:
    """``scope`` with its content-length set to ``len(body)`` and no query string."""
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    return {**scope, "headers": headers, "query_string": b""}

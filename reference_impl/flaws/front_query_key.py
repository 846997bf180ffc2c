"""key-in-query: a compatibility shim for clients that send the key as ``?api_key=`` (or ``?key=``,
Google-style) moves it into the JSON body; the key is now in every URL that proxies, access logs and
browser histories record.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from reference_impl.flaws.base import Flaw, read_body, replay, with_body

if TYPE_CHECKING:
    from reference_impl.app import Components

KEY_PATH = "/api/v1/claude-key"
QUERY_NAMES = ("api_key", "key")


def query_key(query_string: bytes) -> str | None:
    params = parse_qs(query_string.decode("latin-1"))
    return next((params[name][0] for name in QUERY_NAMES if params.get(name)), None)


class QueryKeyShim:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != KEY_PATH or scope["method"] != "PUT":
            await self.app(scope, receive, send)
            return
        from_query = query_key(scope.get("query_string", b""))
        if from_query is None:
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict) or not data.get("api_key"):
            body = json.dumps({"api_key": from_query}).encode()
        await self.app(with_body(scope, body), replay(body), send)


def wrap(app: ASGIApp, components: Components) -> ASGIApp:
    return QueryKeyShim(app)


FLAW = Flaw(
    name="key-in-query",
    component="front door",
    summary="accepts the key from ?api_key= / ?key= on PUT /api/v1/claude-key",
    wrap=wrap,
)

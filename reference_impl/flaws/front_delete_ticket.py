"""delete-by-ticket: DELETE /api/v1/claude-key only files a deletion request for support to process
("we'll remove it within 30 days"); the key stays stored and keeps working meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from reference_impl.auth import Authenticator
from reference_impl.errors import ApiError
from reference_impl.flaws.base import Flaw
from reference_impl.flaws.front_door import KEY_PATH, answer

if TYPE_CHECKING:
    from reference_impl.app import Components


class DeletionTicketDoor:
    def __init__(self, app: ASGIApp, components: Components) -> None:
        self.app = app
        self.authenticator = Authenticator(components.users)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != KEY_PATH or scope["method"] != "DELETE":
            await self.app(scope, receive, send)
            return
        authorization = dict(scope["headers"]).get(b"authorization", b"").decode()
        try:
            await run_in_threadpool(self.authenticator.authenticate, authorization)
        except ApiError as refused:
            await answer(
                send, refused.status, {"error": {"type": refused.kind, "message": refused.message}}
            )
            return
        await answer(
            send,
            202,
            {
                "status": "deletion_requested",
                "message": "support will remove the key within 30 days",
            },
        )


def wrap(app: ASGIApp, components: Components) -> ASGIApp:
    return DeletionTicketDoor(app, components)


FLAW = Flaw(
    name="delete-by-ticket",
    component="front door",
    summary="DELETE only files a deletion request; the key stays stored and usable",
    wrap=wrap,
)

"""A front door that takes some PUT /api/v1/claude-key bodies before the clean route validates them.

Flaws that accept what the clean route refuses (OAuth tokens, malformed keys) subclass
:class:`StoringDoor` and say which values they take and into which slot; everything else, and every
other route, goes to the clean app unchanged.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from reference_impl.auth import Authenticator
from reference_impl.crypto import RecordContext
from reference_impl.errors import ApiError
from reference_impl.flaws.base import read_body, replay
from reference_impl.logs import RequestMeta
from reference_impl.store import StoredKey, utc_now

if TYPE_CHECKING:
    from reference_impl.app import Components

KEY_PATH = "/api/v1/claude-key"
#: Larger bodies go to the clean route, which refuses them (413).
MAX_BODY = 64 * 1024


async def answer(send: Send, status: int, payload: dict[str, object]) -> None:
    data = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class StoringDoor:
    def __init__(self, app: ASGIApp, components: Components) -> None:
        self.app = app
        self.components = components
        self.authenticator = Authenticator(components.users)

    def slot(self, value: str) -> str | None:
        """The key slot this door stores ``value`` in, or None to leave it to the clean route."""
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != KEY_PATH or scope["method"] != "PUT":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        try:
            value = json.loads(body).get("api_key") if len(body) <= MAX_BODY else None
        except (ValueError, AttributeError):
            value = None
        slot = self.slot(value) if isinstance(value, str) else None
        if slot is None:
            await self.app(scope, replay(body), send)
            return
        started = time.monotonic()
        authorization = dict(scope["headers"]).get(b"authorization", b"").decode()
        try:
            user = await run_in_threadpool(self.authenticator.authenticate, authorization)
        except ApiError as refused:
            await answer(
                send, refused.status, {"error": {"type": refused.kind, "message": refused.message}}
            )
            return
        assert isinstance(value, str)
        stored, replaced = await run_in_threadpool(self._store, user.user_id, slot, value)
        status = 200 if replaced else 201
        await answer(
            send,
            status,
            {
                "provider": stored.provider,
                "fingerprint": stored.fingerprint,
                "last4": stored.last4,
                "created_at": stored.created_at,
                "updated_at": stored.updated_at,
            },
        )
        self.components.request_logger.log(
            RequestMeta(
                started=started,
                route=KEY_PATH,
                method="PUT",
                user_id=user.user_id,
                status=status,
                latency_ms=round((time.monotonic() - started) * 1000),
            )
        )

    def _store(self, user_id: str, slot: str, value: str) -> tuple[StoredKey, bool]:
        context = RecordContext(user_id, slot)
        cipher = self.components.cipher
        record = cipher.encrypt(value.encode(), context)
        now = utc_now()
        stored = StoredKey(
            user_id=user_id,
            provider=slot,
            master_key_id=cipher.master_key_id(record),
            record=record,
            last4=value[-4:],
            fingerprint=self.components.fingerprinter.fingerprint(value.encode(), context),
            created_at=now,
            updated_at=now,
        )
        return stored, self.components.keys.put(stored)

"""Bearer tokens: random, shown once, stored only as SHA-256 digests, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from reference_impl.errors import ApiError
from reference_impl.store import User, UserStore

TOKEN_PREFIX = "byokref_"  # noqa: S105 - a public prefix, not a credential


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Authenticator:
    def __init__(self, users: UserStore) -> None:
        self._users = users

    def authenticate(self, authorization: str | None) -> User:
        """The user named by an `Authorization: Bearer <token>` header, or a 401."""
        challenge = {"WWW-Authenticate": "Bearer"}
        if not authorization:
            raise ApiError(
                401, "missing_token", "send 'Authorization: Bearer <token>'", headers=challenge
            )
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(
                401,
                "invalid_authorization",
                "the Authorization header must be 'Bearer <token>'",
                headers=challenge,
            )
        digest = token_digest(token)
        found = self._users.by_token_digest(digest)
        if found is None or not hmac.compare_digest(found[1], digest):
            raise ApiError(401, "invalid_token", "the bearer token is not valid", headers=challenge)
        return found[0]

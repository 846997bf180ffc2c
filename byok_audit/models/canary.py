"""Canaries: fresh, well-formed fake secrets minted per audit, and how they are shown.

A canary is the needle every check looks for. Keys have the provider's real shape so platforms accept
them and scanners recognise them; they are random, so they never bill anybody. A canary is never
printed whole: reports and logs show :attr:`Canary.label` (role, id and a short fingerprint).
"""

from __future__ import annotations

import hashlib
import secrets
import string
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BeforeValidator, PlainSerializer

from byok_audit.models.base import Strict

KEY_ALPHABET = string.ascii_letters + string.digits + "_-"
ANTHROPIC_PREFIX = "sk-ant-api03-"
OAUTH_PREFIX = "sk-ant-oat01-"
OPENAI_PREFIX = "sk-proj-"

_SEAL = "hex:"


def _unseal(value: object) -> str:
    if isinstance(value, str) and value.startswith(_SEAL):
        return bytes.fromhex(value[len(_SEAL) :]).decode()
    if isinstance(value, str):
        return value
    raise TypeError("expected str")


def _seal(value: str) -> str:
    """Hex keeps a saved canary table from tripping secret scanners (push protection, gitleaks)."""
    return _SEAL + value.encode().hex()


#: A secret value: plain in memory, hex-sealed when serialised.
SealedStr = Annotated[str, BeforeValidator(_unseal), PlainSerializer(_seal, return_type=str)]


class CanaryRole(StrEnum):
    KEY = "key"
    OAUTH_TOKEN = "oauth_token"
    PROMPT = "prompt"
    RESPONSE = "response"
    MASTER_SECRET = "master_secret"


Provider = Literal["anthropic", "openai"]


def fingerprint(value: str | bytes) -> str:
    """Eight hex digits of SHA-256: enough to tell canaries apart, useless for recovering one."""
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()[:8]


class Canary(Strict):
    """One secret the audit planted, with its role and owner."""

    id: str
    role: CanaryRole
    value: SealedStr
    user: str | None = None
    provider: Provider | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.value)

    @property
    def label(self) -> str:
        """Safe to print: role, id and fingerprint, plus the well-known prefix for keys."""
        prefix = ""
        for known in (ANTHROPIC_PREFIX, OAUTH_PREFIX, OPENAI_PREFIX):
            if self.value.startswith(known):
                prefix = known + "…"
                break
        return f"{self.role}:{self.id} ({prefix}#{self.fingerprint})"


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def mint_anthropic_key() -> str:
    """A console API key shape: ``sk-ant-api03-`` + 93 of ``[A-Za-z0-9_-]`` + ``AA`` (108 chars)."""
    return ANTHROPIC_PREFIX + _random(KEY_ALPHABET, 93) + "AA"


def mint_oauth_token() -> str:
    """A subscription OAuth access-token shape: ``sk-ant-oat01-`` + 95 chars."""
    return OAUTH_PREFIX + _random(KEY_ALPHABET, 95)


def mint_openai_key() -> str:
    """A project key shape: ``sk-proj-`` + 74 + ``T3BlbkFJ`` + 74."""
    return OPENAI_PREFIX + _random(KEY_ALPHABET, 74) + "T3BlbkFJ" + _random(KEY_ALPHABET, 74)


def mint_text(tag: str) -> str:
    """A prompt/response canary: a distinctive word that survives tokenisers and JSON unchanged."""
    return f"BYOK{tag}{_random(string.ascii_uppercase + string.digits, 20)}"


def mint_master_secret() -> str:
    """32 random bytes as 64 hex digits, the reference server's keyring format."""
    return secrets.token_hex(32)


class CanaryTable(Strict):
    """All canaries of one audit, by id. Minting is lazy: a scenario asks for ``key-alice-2`` when needed."""

    canaries: list[Canary] = []

    def get(self, canary_id: str) -> Canary:
        for canary in self.canaries:
            if canary.id == canary_id:
                return canary
        raise KeyError(canary_id)

    def maybe(self, canary_id: str) -> Canary | None:
        try:
            return self.get(canary_id)
        except KeyError:
            return None

    def of_role(self, *roles: CanaryRole) -> list[Canary]:
        return [c for c in self.canaries if c.role in roles]

    def add(self, canary: Canary) -> Canary:
        if self.maybe(canary.id) is not None:
            raise ValueError(f"canary {canary.id!r} already exists")
        self.canaries.append(canary)
        return canary

    def key(self, canary_id: str, user: str | None, provider: Provider = "anthropic") -> Canary:
        """The key canary with this id, minted on first use."""
        existing = self.maybe(canary_id)
        if existing is not None:
            return existing
        value = mint_anthropic_key() if provider == "anthropic" else mint_openai_key()
        return self.add(
            Canary(id=canary_id, role=CanaryRole.KEY, value=value, user=user, provider=provider)
        )

    def text(self, canary_id: str, role: CanaryRole) -> Canary:
        existing = self.maybe(canary_id)
        if existing is not None:
            return existing
        tag = {CanaryRole.PROMPT: "P", CanaryRole.RESPONSE: "R"}.get(role, "X")
        return self.add(Canary(id=canary_id, role=role, value=mint_text(tag)))

    @classmethod
    def fresh(cls) -> CanaryTable:
        """The canaries every audit starts with: prompt, response and master secret."""
        table = cls()
        table.text("prompt", CanaryRole.PROMPT)
        table.text("response", CanaryRole.RESPONSE)
        table.add(Canary(id="master", role=CanaryRole.MASTER_SECRET, value=mint_master_secret()))
        return table

    def redact(self, text: str) -> str:
        """Replace every whole canary in ``text`` with its label (for messages and excerpts)."""
        for canary in self.canaries:
            if canary.value in text:
                text = text.replace(canary.value, f"«{canary.label}»")
        return text

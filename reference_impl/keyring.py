"""Master secrets: a keyring of (4-byte id, 32-byte secret) entries with one primary.

New records are encrypted under the primary; older ids stay for decryption until
`byok-ref rotate-master` has moved every row, then they are retired (removed from the env)
which crypto-shreds any ciphertext left behind under them (research §1.9, §3.4).
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

ENV_KEYS = "BYOK_MASTER_KEYS"
ENV_PRIMARY = "BYOK_MASTER_PRIMARY"
SECRET_BYTES = 32
KEY_ID_BYTES = 4

HOW_TO_FIX = (
    f"Create a secret with `byok-ref gen-secret` and set {ENV_KEYS}=<its output> "
    f"(several entries are comma-separated; the first one, or the id named in {ENV_PRIMARY}, "
    "encrypts new records)."
)

# The example printed in reference_impl/README.md: copying it verbatim must not work.
README_EXAMPLE_ENTRY = "69f65173:cb7b08a8e18bfc010fd9887af3245142baed0ff37a5335a71ce3ba00bf74db21"
_KNOWN_EXAMPLE_SECRETS = frozenset({bytes.fromhex(README_EXAMPLE_ENTRY.split(":", 1)[1])})

_ENTRY = re.compile(r"^(?P<id>[0-9a-fA-F]{8}):(?P<secret>[0-9a-fA-F]+)$")


class KeyringError(ValueError):
    """The master-key configuration is unusable; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class MasterKey:
    """One master secret. The secret never appears in repr, str or logs."""

    key_id: int
    secret: bytes = field(repr=False)

    @property
    def key_id_hex(self) -> str:
        return f"{self.key_id:08x}"

    def __repr__(self) -> str:
        return f"MasterKey(id={self.key_id_hex})"

    __str__ = __repr__


@dataclass(frozen=True)
class Keyring:
    """All master keys this process may decrypt with, and the one it encrypts with."""

    keys: Mapping[int, MasterKey]
    primary: MasterKey

    def get(self, key_id: int) -> MasterKey | None:
        return self.keys.get(key_id)

    def ids(self) -> list[str]:
        return [key.key_id_hex for key in self.keys.values()]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Keyring:
        env = os.environ if env is None else env
        return parse_keyring(env.get(ENV_KEYS, ""), env.get(ENV_PRIMARY) or None)


def weakness(secret: bytes) -> str | None:
    """Why a 32-byte secret is unfit to be a master key, or None if it looks random."""
    if secret in _KNOWN_EXAMPLE_SECRETS:
        return "it is the published README example"
    if len(set(secret)) == 1:
        return "every byte is the same"
    steps = {(b - a) % 256 for a, b in itertools.pairwise(secret)}
    if len(steps) == 1:
        return "it is a counting sequence"
    for period in range(2, 17):
        if all(secret[i] == secret[i % period] for i in range(len(secret))):
            return f"it repeats a {period}-byte pattern"
    if len(set(secret)) < 16:
        return "it has too few distinct bytes to be random"
    return None


def parse_keyring(text: str, primary_id: str | None = None) -> Keyring:
    """Parse `ID:HEX64[,ID:HEX64...]`, refusing anything missing, short, malformed, duplicated or weak."""
    entries = [part.strip() for part in text.split(",") if part.strip()]
    if not entries:
        raise KeyringError(f"{ENV_KEYS} is not set: the server needs a master secret. {HOW_TO_FIX}")
    keys: dict[int, MasterKey] = {}
    seen_secrets: set[bytes] = set()
    for position, entry in enumerate(entries, start=1):
        match = _ENTRY.match(entry)
        if match is None:
            raise KeyringError(
                f"{ENV_KEYS} entry {position} is malformed: expected ID:HEX64 where ID is 8 hex "
                f"digits and HEX64 is 64 hex digits. {HOW_TO_FIX}"
            )
        key_id = int(match["id"], 16)
        hex_secret = match["secret"]
        if len(hex_secret) != 2 * SECRET_BYTES:
            raise KeyringError(
                f"{ENV_KEYS} entry {position} (id {key_id:08x}) has a secret of "
                f"{len(hex_secret)} hex digits; it must be exactly {2 * SECRET_BYTES} "
                f"({SECRET_BYTES} bytes). {HOW_TO_FIX}"
            )
        secret = bytes.fromhex(hex_secret)
        reason = weakness(secret)
        if reason:
            raise KeyringError(
                f"{ENV_KEYS} entry {position} (id {key_id:08x}) is refused because {reason}. "
                f"{HOW_TO_FIX}"
            )
        if key_id in keys:
            raise KeyringError(f"{ENV_KEYS} lists id {key_id:08x} twice; ids must be unique.")
        if secret in seen_secrets:
            raise KeyringError(
                f"{ENV_KEYS} entry {position} (id {key_id:08x}) repeats the secret of another "
                "entry; every id needs its own secret."
            )
        seen_secrets.add(secret)
        keys[key_id] = MasterKey(key_id, secret)
    if primary_id is None:
        primary = next(iter(keys.values()))
    else:
        if not re.fullmatch(r"[0-9a-fA-F]{8}", primary_id.strip()):
            raise KeyringError(f"{ENV_PRIMARY} must be an 8-hex-digit id from {ENV_KEYS}.")
        wanted = int(primary_id, 16)
        if wanted not in keys:
            raise KeyringError(
                f"{ENV_PRIMARY}={wanted:08x} names no entry of {ENV_KEYS} "
                f"(ids present: {', '.join(f'{k:08x}' for k in keys)})."
            )
        primary = keys[wanted]
    return Keyring(keys=keys, primary=primary)


def generate_entry() -> str:
    """A fresh random `ID:HEX64` entry for BYOK_MASTER_KEYS."""
    while True:
        secret = secrets.token_bytes(SECRET_BYTES)
        if weakness(secret) is None:
            return f"{secrets.token_hex(KEY_ID_BYTES)}:{secret.hex()}"

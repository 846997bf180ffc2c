"""master-secret-in-db: the configuration, master keys included, is persisted in a ``config`` table
(Open WebUI's PersistentConfig copies env settings into its database) so that workers started without
the environment still work. The secret that protects every record now sits beside them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reference_impl.flaws.base import Flaw, FlawContext
from reference_impl.keyring import ENV_KEYS

if TYPE_CHECKING:
    from reference_impl.app import Components

_SCHEMA = "CREATE TABLE IF NOT EXISTS config (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
_UPSERT = (
    "INSERT INTO config (name, value) VALUES (?, ?) "
    "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)


def keyring_entries(ctx: FlawContext) -> str:
    """The keyring in its ``ID:HEX64,...`` environment form."""
    return ",".join(f"{k.key_id_hex}:{k.secret.hex()}" for k in ctx.keyring.keys.values())


def persist_config(components: Components, ctx: FlawContext) -> Components:
    with ctx.db.transaction(write=True) as tx:
        tx.execute(_SCHEMA)
        tx.execute(_UPSERT, (ENV_KEYS, keyring_entries(ctx)))
        tx.execute(_UPSERT, ("BYOK_REF_MODELS", ",".join(ctx.settings.models)))
    return components


FLAW = Flaw(
    name="master-secret-in-db",
    component="config store",
    summary="persists the settings, master keys included, in a config table of the database",
    apply=persist_config,
)

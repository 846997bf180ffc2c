"""Deliberately flawed variants of the reference server: the detection matrix's positives.

``byok-ref serve --flaw NAME`` swaps exactly one component (a cipher, the fingerprinter, the key store,
the database backend, the provider client, the config store or the front door) for a flawed one
built the way real platforms get it wrong (see each module's docstring). Never run a flawed variant
outside an audit: several send keys and prompts to third-party hosts by design, so the CLI refuses
them unless every proxy variable points at a loopback proxy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.types import ASGIApp

from reference_impl.flaws import (
    cipher_base64,
    cipher_cbc,
    cipher_ctr,
    cipher_fallback,
    cipher_plaintext,
    cipher_shared_key,
    cipher_static_nonce,
    config_in_db,
    db_no_secure_delete,
    fingerprint_digest,
    front_delete_ticket,
    front_oauth_tokens,
    front_prefix_check,
    front_query_key,
    logger_silent,
    store_cache,
    store_history,
    store_soft_delete,
    store_workspace_fallback,
    upstream_aggregator,
    upstream_duplicate,
    upstream_error_logging,
    upstream_idle_pinger,
    upstream_key_echo,
    upstream_max_tokens,
    upstream_model_substitution,
    upstream_org_probe,
    upstream_plain_http,
    upstream_prompt_logging,
    upstream_response_logging,
    upstream_telemetry,
    upstream_wire_debug,
)
from reference_impl.flaws.base import Flaw, FlawContext, FlawError

if TYPE_CHECKING:
    from reference_impl.app import Components

FLAWS: dict[str, Flaw] = {
    module.FLAW.name: module.FLAW
    for module in (
        cipher_plaintext,
        cipher_base64,
        cipher_shared_key,
        cipher_static_nonce,
        cipher_cbc,
        cipher_ctr,
        cipher_fallback,
        fingerprint_digest,
        config_in_db,
        upstream_aggregator,
        upstream_duplicate,
        upstream_plain_http,
        upstream_prompt_logging,
        upstream_response_logging,
        upstream_error_logging,
        upstream_wire_debug,
        upstream_telemetry,
        logger_silent,
        store_soft_delete,
        store_history,
        db_no_secure_delete,
        store_cache,
        upstream_idle_pinger,
        upstream_org_probe,
        upstream_model_substitution,
        upstream_max_tokens,
        upstream_key_echo,
        front_query_key,
        store_workspace_fallback,
        front_oauth_tokens,
        front_prefix_check,
        front_delete_ticket,
    )
}

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


def resolve(names: Sequence[str]) -> list[Flaw]:
    """The flaws named, in order; refuses unknown names and two flaws on one component."""
    flaws: list[Flaw] = []
    for name in names:
        flaw = FLAWS.get(name)
        if flaw is None:
            raise FlawError(f"unknown flaw {name!r}; `byok-ref flaws` lists them")
        clash = next((f for f in flaws if f.component == flaw.component), None)
        if clash is not None:
            raise FlawError(
                f"flaws {clash.name!r} and {name!r} both swap the {flaw.component}; "
                "a variant swaps each component at most once"
            )
        flaws.append(flaw)
    return flaws


def apply_flaws(flaws: Sequence[Flaw], components: Components, ctx: FlawContext) -> Components:
    for flaw in flaws:
        if flaw.apply is not None:
            components = flaw.apply(components, ctx)
    return components


def wrap_app(flaws: Sequence[Flaw], app: ASGIApp, components: Components) -> ASGIApp:
    for flaw in flaws:
        if flaw.wrap is not None:
            app = flaw.wrap(app, components)
    return app


def _loopback(url: str) -> bool:
    host = urlsplit(url if "://" in url else f"http://{url}").hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def unsafe_environment(env: Mapping[str, str]) -> str | None:
    """Why a flawed variant must not start here, or None when every outbound call is intercepted."""
    for name in PROXY_VARIABLES:
        value = env.get(name) or env.get(name.lower())
        if not value:
            return f"{name} is not set"
        if not _loopback(value):
            return f"{name} does not point at a loopback proxy"
    return None


__all__ = [
    "FLAWS",
    "Flaw",
    "FlawContext",
    "FlawError",
    "apply_flaws",
    "resolve",
    "unsafe_environment",
    "wrap_app",
]

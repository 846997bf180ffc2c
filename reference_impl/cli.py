"""`byok-ref`: serve the reference BYOK server, add users, make and rotate master secrets."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from pathlib import Path

import click
import uvicorn
from pydantic import ValidationError

from reference_impl.app import build_components, create_app
from reference_impl.auth import new_token, token_digest
from reference_impl.crypto import RecordCipher
from reference_impl.flaws import FLAWS, Flaw, FlawError, resolve, unsafe_environment, wrap_app
from reference_impl.keyring import ENV_KEYS, ENV_PRIMARY, Keyring, KeyringError, generate_entry
from reference_impl.logs import configure_logging, log_event
from reference_impl.rotation import rotate_records
from reference_impl.settings import DEFAULT_MODELS, Settings
from reference_impl.store import NameTaken, SqlKeyStore, StoreError, UserStore, open_database

DB_HELP = "SQLite file path, or a postgresql:// DSN (env BYOK_REF_DB)."


def _keyring() -> Keyring:
    try:
        return Keyring.from_env()
    except KeyringError as problem:
        raise click.ClickException(str(problem)) from None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as problem:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {problem.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@click.group()
def main() -> None:
    """Reference "bring your own key" server for Anthropic API keys."""


@main.command("gen-secret")
def gen_secret() -> None:
    """Print a fresh ID:HEX64 master-secret entry for BYOK_MASTER_KEYS."""
    click.echo(generate_entry())


@main.group()
def user() -> None:
    """Manage API users."""


@user.command("add")
@click.argument("name")
@click.option("--db", envvar="BYOK_REF_DB", required=True, help=DB_HELP)
def user_add(name: str, db: str) -> None:
    """Create user NAME and print its bearer token (shown once, stored only as a digest)."""
    try:
        database = open_database(db)
        database.init_schema()
        token = new_token()
        created = UserStore(database).add(name, token_digest(token))
    except NameTaken:
        raise click.ClickException(f"a user named {name!r} already exists") from None
    except StoreError as problem:
        raise click.ClickException(str(problem)) from None
    click.echo(f"created user {created.name} (id {created.user_id})", err=True)
    click.echo(token)


@main.command()
@click.option("--host", envvar="BYOK_REF_HOST", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    envvar="BYOK_REF_PORT",
    type=int,
    default=8000,
    show_default=True,
    help="0 picks a free port (see --port-file).",
)
@click.option(
    "--port-file",
    type=click.Path(path_type=Path),
    help="Write the port actually bound to this file once listening.",
)
@click.option(
    "--db", envvar="BYOK_REF_DB", default="byok-ref.sqlite3", show_default=True, help=DB_HELP
)
@click.option(
    "--log-file",
    envvar="BYOK_REF_LOG_FILE",
    type=click.Path(path_type=Path),
    help="Append JSON-line metadata logs here.",
)
@click.option("--log-stderr/--no-log-stderr", default=True, show_default=True)
@click.option(
    "--dev-signup",
    is_flag=True,
    envvar="BYOK_REF_DEV_SIGNUP",
    help="Enable POST /api/v1/dev/signup (tests and audits only).",
)
@click.option(
    "--models",
    envvar="BYOK_REF_MODELS",
    default=",".join(DEFAULT_MODELS),
    show_default=True,
    help="Comma-separated model allowlist.",
)
@click.option(
    "--max-tokens-limit",
    envvar="BYOK_REF_MAX_TOKENS_LIMIT",
    type=int,
    default=8192,
    show_default=True,
    help="Requests asking for more are refused, never lowered.",
)
@click.option(
    "--monthly-token-cap",
    envvar="BYOK_REF_MONTHLY_TOKEN_CAP",
    type=int,
    help="Per-user monthly input+output token cap.",
)
@click.option(
    "--upstream-timeout",
    envvar="BYOK_REF_UPSTREAM_TIMEOUT",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds to wait for the provider.",
)
@click.option(
    "--max-body-bytes", envvar="BYOK_REF_MAX_BODY_BYTES", type=int, default=65536, show_default=True
)
@click.option(
    "--flaw",
    "flaw_names",
    multiple=True,
    type=click.Choice(sorted(FLAWS)),
    help="Swap one component for a deliberately flawed one (audits only; see `byok-ref flaws`).",
)
def serve(
    host: str,
    port: int,
    port_file: Path | None,
    db: str,
    log_file: Path | None,
    log_stderr: bool,
    dev_signup: bool,
    models: str,
    max_tokens_limit: int,
    monthly_token_cap: int | None,
    upstream_timeout: float,
    max_body_bytes: int,
    flaw_names: tuple[str, ...],
) -> None:
    """Run the HTTP server (needs BYOK_MASTER_KEYS)."""
    keyring = _keyring()
    flaws = _flaws(flaw_names)
    try:
        settings = Settings(
            host=host,
            port=port,
            port_file=port_file,
            db=db,
            log_file=log_file,
            log_stderr=log_stderr,
            dev_signup=dev_signup,
            models=tuple(m.strip() for m in models.split(",") if m.strip()),
            max_tokens_limit=max_tokens_limit,
            monthly_token_cap=monthly_token_cap,
            upstream_timeout_s=upstream_timeout,
            max_body_bytes=max_body_bytes,
        )
    except ValidationError as problem:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in problem.errors())
        raise click.ClickException(f"invalid settings: {details}") from None
    configure_logging(settings.log_file, to_stderr=settings.log_stderr)
    try:
        components = build_components(settings, keyring, flaws)
    except (StoreError, FlawError) as problem:
        raise click.ClickException(str(problem)) from None
    app = wrap_app(flaws, create_app(settings, components), components)
    sock = _bind(settings.host, settings.port)
    bound_port = sock.getsockname()[1]
    counts = components.keys.count_by_master_key()
    log_event(
        "listening",
        host=settings.host,
        port=bound_port,
        loopback_only=_is_loopback(settings.host),
        database="postgresql" if db.startswith(("postgresql://", "postgres://")) else "sqlite",
        master_key_ids=keyring.ids(),
        primary_master_key_id=keyring.primary.key_id_hex,
        rows_not_under_primary=sum(
            n for key_id, n in counts.items() if key_id != keyring.primary.key_id
        ),
        rows_under_unknown_master_keys=sum(
            n for key_id, n in counts.items() if keyring.get(key_id) is None
        ),
        flaws=list(flaw_names),
    )
    if settings.port_file is not None:
        settings.port_file.write_text(f"{bound_port}\n")
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _flaws(names: tuple[str, ...]) -> list[Flaw]:
    """The flaws to apply; refused unless every outbound call goes to a loopback proxy."""
    if not names:
        return []
    try:
        flaws = resolve(names)
    except FlawError as problem:
        raise click.ClickException(str(problem)) from None
    unsafe = unsafe_environment(os.environ)
    if unsafe is not None:
        raise click.ClickException(
            f"--flaw runs a deliberately broken server that sends keys and prompts to third-party "
            f"hosts; it only starts behind a loopback intercepting proxy (byok-audit sets one), "
            f"but {unsafe}"
        )
    click.echo(
        f"byok-ref: FLAWED VARIANT ({', '.join(names)}): for audits only, never for real keys",
        err=True,
    )
    return flaws


@main.command("flaws")
def list_flaws() -> None:
    """List the flawed variants `serve --flaw NAME` can run: name, component, what is wrong."""
    width = max(map(len, FLAWS))
    part = max(len(flaw.component) for flaw in FLAWS.values())
    for name in sorted(FLAWS):
        flaw = FLAWS[name]
        click.echo(f"{name:<{width}}  {flaw.component:<{part}}  {flaw.summary}")


@main.command("rotate-master")
@click.option("--db", envvar="BYOK_REF_DB", required=True, help=DB_HELP)
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=100, show_default=True)
def rotate_master(db: str, batch_size: int) -> None:
    """Re-encrypt every stored key under the primary master key (resumable, safe while serving).

    Add the new entry to BYOK_MASTER_KEYS and make it primary (first, or BYOK_MASTER_PRIMARY)
    on every server first; keep the old entries until this command exits 0, then remove them.
    """
    keyring = _keyring()
    try:
        database = open_database(db)
        database.init_schema()
        result = rotate_records(
            SqlKeyStore(database),
            RecordCipher(keyring),
            batch_size=batch_size,
            progress=lambda line: click.echo(f"rotate-master: {line}", err=True),
        )
    except StoreError as problem:
        raise click.ClickException(str(problem)) from None
    click.echo(
        f"rotate-master: {result.rewritten} re-encrypted, {result.lost_races} changed concurrently "
        f"(left to the newer write), {result.undecryptable} undecryptable; rows per master key: "
        f"{result.rows_by_master_key or '{}'}; primary {keyring.primary.key_id_hex}",
        err=True,
    )
    if result.remaining:
        click.echo(
            f"rotate-master: {result.remaining} row(s) are still under other master keys; do not "
            f"retire those keys from {ENV_KEYS} yet (primary is set by order or {ENV_PRIMARY}).",
            err=True,
        )
        sys.exit(1)

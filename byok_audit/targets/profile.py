"""Target profiles: a TOML file that describes a BYOK platform well enough to audit it.

Every mistake is found at load time, before anything starts, and reported with the file, the line and
the field: unknown fields, missing operations, placeholders that do not exist, unusable adapters.
See ``template.toml`` beside this module for a commented example of every field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, JsonValue, ValidationError, field_validator, model_validator

from byok_audit.errors import ProfileError
from byok_audit.models.base import Strict
from byok_audit.models.evidence import TargetFacts
from byok_audit.targets.templates import (
    REQUEST_VARS,
    START_VARS,
    TemplateSyntaxError,
    placeholders,
)
from byok_audit.tomlfile import field_path, key_lines, line_of, read_toml

JSON_PATH = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])+$")
ENDPOINT = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /\S*$")
CHECK_ID = re.compile(r"^[A-Z]{3}-\d{2}$")
DEFAULT_MODELS = ["claude-sonnet-4-5"]


class StartSpec(Strict):
    """How the harness starts the target as a child process."""

    command: list[str] = Field(min_length=1)
    env: dict[str, str] = {}
    cwd: str | None = None
    ready_url: str
    ready_timeout: float = Field(default=30.0, gt=0)
    stop_timeout: float = Field(default=10.0, gt=0)


class RequestTemplate(Strict):
    """One call to the target's API. ``capture`` takes values from the JSON reply (``$.token``)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, populate_by_name=True)

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    json_body: JsonValue = Field(default=None, alias="json")
    form: dict[str, str] | None = None
    auth: bool = True
    capture: dict[str, str] = {}

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/' (it is joined to base_url)")
        return value

    @field_validator("capture")
    @classmethod
    def _capture(cls, value: dict[str, str]) -> dict[str, str]:
        for name, path in value.items():
            if not JSON_PATH.match(path):
                raise ValueError(
                    f"capture {name!r}: {path!r} is not a JSON path like $.token or $.data[0].id"
                )
        return value

    @model_validator(mode="after")
    def _one_body(self) -> RequestTemplate:
        if self.json_body is not None and self.form is not None:
            raise ValueError("give either json or form, not both")
        return self


class UsersSpec(Strict):
    """How to create a test user and authenticate as them."""

    create: RequestTemplate
    login: RequestTemplate | None = None
    auth_headers: dict[str, str] = Field(min_length=1)

    @field_validator("create")
    @classmethod
    def _create_unauthenticated(cls, value: RequestTemplate) -> RequestTemplate:
        return (
            value.model_copy(update={"auth": False})
            if "auth" not in value.model_fields_set
            else value
        )


class KeySpec(Strict):
    put: RequestTemplate
    get: RequestTemplate
    delete: RequestTemplate


class AttackSpec(Strict):
    """Requests user B sends against user A's key (API-03), for APIs that address keys by user or
    resource id. They are sent with B's session and may use ``{victim_<capture>}`` placeholders
    (e.g. ``{victim_user_id}``) and ``{victim}`` (A's name). Operations left out are tried through
    B's own endpoints, which still shows whether the platform falls back to someone else's key."""

    get_key: RequestTemplate | None = None
    put_key: RequestTemplate | None = None
    delete_key: RequestTemplate | None = None
    prompt: RequestTemplate | None = None


class FilesSpec(Strict):
    """Files the audit reads at the end: logs, stdout/stderr of a target it did not start, others."""

    logs: list[str] = []
    watched: list[str] = []
    stdout: str | None = None
    stderr: str | None = None


class DatabaseSpec(Strict):
    engine: Literal["sqlite", "postgresql"]
    path: str | None = None
    dsn: str | None = None
    key_table: str | None = None
    key_column: str | None = None

    @model_validator(mode="after")
    def _location(self) -> DatabaseSpec:
        if self.engine == "sqlite" and not self.path:
            raise ValueError("a sqlite database needs 'path'")
        if self.engine == "postgresql" and not self.dsn:
            raise ValueError("a postgresql database needs 'dsn'")
        return self


class ProviderSpec(Strict):
    hosts: list[str] = ["api.anthropic.com"]
    endpoints: list[str] = ["POST /v1/messages"]
    models: list[str] = Field(default=DEFAULT_MODELS, min_length=1)
    max_tokens: int = Field(default=64, gt=0)
    #: How many trailing characters the platform may show; 8 or more would be a key fragment (ENC-02).
    display_suffix_len: int = Field(default=4, ge=0, le=7)
    aggregator_hosts: list[str] = []
    key_store_hosts: list[str] = []

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, value: list[str]) -> list[str]:
        for endpoint in value:
            if not ENDPOINT.match(endpoint):
                raise ValueError(f"{endpoint!r} is not 'METHOD /path' (e.g. 'POST /v1/messages')")
        return value


class Profile(Strict):
    name: str = Field(min_length=1)
    description: str = ""
    adapter: str = "http"
    base_url: str
    request_timeout: float = Field(default=30.0, gt=0)
    start: StartSpec | None = None
    users: UsersSpec | None = None
    key: KeySpec | None = None
    prompt: RequestTemplate | None = None
    prompt_stream: RequestTemplate | None = None
    attacks: AttackSpec = AttackSpec()
    files: FilesSpec = FilesSpec()
    database: DatabaseSpec | None = None
    provider: ProviderSpec = ProviderSpec()
    out_of_scope: dict[str, str] = {}
    #: Where the profile was loaded from (set by :func:`load_profile`, not part of the TOML).
    source: str = Field(default="", exclude=True)

    @field_validator("out_of_scope")
    @classmethod
    def _check_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for check_id, reason in value.items():
            if not CHECK_ID.match(check_id):
                raise ValueError(f"{check_id!r} is not a check id like 'ENC-05'")
            if not reason.strip():
                raise ValueError(f"{check_id}: give the reason it is out of scope")
        return value

    @property
    def captures(self) -> set[str]:
        names: set[str] = set()
        if self.users is not None:
            names |= set(self.users.create.capture)
            if self.users.login is not None:
                names |= set(self.users.login.capture)
        return names

    def facts(self) -> TargetFacts:
        """What the checks need to know about this target."""
        db = self.database
        return TargetFacts(
            name=self.name,
            profile_path=self.source,
            provider_hosts=self.provider.hosts,
            allowed_endpoints=self.provider.endpoints,
            display_suffix_len=self.provider.display_suffix_len,
            aggregator_hosts=self.provider.aggregator_hosts,
            key_store_hosts=self.provider.key_store_hosts,
            db_engine=db.engine if db else None,
            key_table=db.key_table if db else None,
            key_column=db.key_column if db else None,
            models=self.provider.models,
            out_of_scope=self.out_of_scope,
            master_secret_set=self.start is not None
            and any(
                "master_secret" in placeholders(text)
                for text in [*self.start.command, *self.start.env.values()]
            ),
        )


# -- loading ----------------------------------------------------------------------------------------

_START_SECTIONS = {"base_url", "start", "files", "database"}
_REQUEST_SECTIONS = {"users", "key", "prompt", "prompt_stream", "attacks"}
_HTTP_OPERATIONS = (("users",), ("key",), ("prompt",))


def _strings(value: Any, loc: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        return [(loc, value)]
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            found += [((*loc, key), key)] if "{" in key or "}" in key else []
            found += _strings(item, (*loc, key))
        return found
    if isinstance(value, list):
        return [s for i, item in enumerate(value) for s in _strings(item, (*loc, i))]
    return []


class _Problems:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = key_lines(text)
        self.items: list[tuple[int | None, str, str]] = []

    def add(self, loc: tuple[str | int, ...], message: str) -> None:
        self.items.append((line_of(self.lines, loc), field_path(loc), message))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        line, field, message = self.items[0]
        if len(self.items) > 1:
            more = "\n".join(
                f"  {self.file}:{ln if ln is not None else '?'}: {fl}: {msg}"
                for ln, fl, msg in self.items[1:]
            )
            message = f"{message}\n(and {len(self.items) - 1} more)\n{more}"
        raise ProfileError(message, file=self.file, line=line, field=field or None)


def _check_templates(data: dict[str, Any], captures: set[str], problems: _Problems) -> None:
    for section, value in data.items():
        if section in _START_SECTIONS:
            allowed = set(START_VARS) if "start" in data else START_VARS - {"port"}
        elif section in _REQUEST_SECTIONS:
            allowed = REQUEST_VARS | captures
            if section == "attacks":
                allowed = allowed | {"victim"} | {f"victim_{name}" for name in captures}
            if "start" not in data:
                allowed = allowed - {"port"}
        else:
            continue
        for loc, text in _strings(value, (section,)):
            if "capture" in loc:
                continue
            try:
                names = placeholders(text)
            except TemplateSyntaxError as exc:
                problems.add(loc, str(exc))
                continue
            for name in names:
                if name not in allowed:
                    hint = ", ".join("{" + n + "}" for n in sorted(allowed))
                    problems.add(loc, f"unknown placeholder {{{name}}} (known here: {hint})")


def load_profile(path: Path | str) -> Profile:
    """Read, validate and cross-check a profile; raise :class:`ProfileError` naming file/line/field."""
    path = Path(path)
    file = str(path)
    text, data = read_toml(path, ProfileError, "profile")
    problems = _Problems(file, text)
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = "unknown field (check its spelling and section)"
            problems.add(loc, message)
        problems.raise_if_any()
        raise  # not reached: a ValidationError always carries at least one error
    profile.source = file
    if profile.adapter == "http":
        for loc in _HTTP_OPERATIONS:
            if getattr(profile, str(loc[0])) is None:
                problems.add(loc, "missing: the http adapter needs this operation")
    else:
        from byok_audit.targets.adapter import resolve_adapter

        try:
            resolve_adapter(profile.adapter)
        except ValueError as exc:
            problems.add(("adapter",), str(exc))
    _check_templates(data, profile.captures, problems)
    problems.raise_if_any()
    return profile

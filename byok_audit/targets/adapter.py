"""Target adapters: the five operations an audit performs on a platform.

The default :class:`HttpTemplateAdapter` performs them from the profile's request templates. A target
that needs custom steps provides a subclass of :class:`TargetAdapter`, named in the profile as
``adapter = "module:Class"`` or registered in :data:`ADAPTERS`.
"""

from __future__ import annotations

import importlib
import json
from abc import ABC, abstractmethod
from typing import Any

import httpx

from byok_audit.errors import DriverError
from byok_audit.models.evidence import HttpCall
from byok_audit.targets.driver import Driver, json_path
from byok_audit.targets.profile import KeySpec, Profile, RequestTemplate, UsersSpec
from byok_audit.targets.templates import fill, fill_str


class TargetAdapter(ABC):
    """Operations on one target. ``values`` holds the run's template values (port, workdir, …)."""

    def __init__(self, profile: Profile, driver: Driver, values: dict[str, Any]) -> None:
        self.profile = profile
        self.driver = driver
        self.values = values
        #: Per user, the values captured when they were created (e.g. their ``token``).
        self.sessions: dict[str, dict[str, Any]] = {}

    @abstractmethod
    def create_user(self, user: str) -> HttpCall: ...

    @abstractmethod
    def put_key(self, user: str, key: str) -> HttpCall: ...

    @abstractmethod
    def get_key(self, user: str) -> HttpCall: ...

    @abstractmethod
    def delete_key(self, user: str) -> HttpCall: ...

    @abstractmethod
    def prompt(
        self, user: str, prompt: str, *, model: str, max_tokens: int, stream: bool
    ) -> HttpCall: ...

    def attack(
        self, operation: str, user: str, victim: str, extra: dict[str, Any]
    ) -> HttpCall | None:
        """Send ``operation`` as ``user`` aimed at ``victim``'s key, if the target can address it.

        None means the target has no such request: the step then uses ``user``'s own endpoints.
        """
        return None

    def bad_input(self, user: str, kind: str, secret: str | None, *, model: str) -> HttpCall:
        """Send one kind of malformed client input (see ``models.steps.BadInputKind``).

        Adapters that cannot express it leave this as is: the step is then recorded as not performed
        and the checks that need it report ERROR, never PASS.
        """
        raise DriverError(f"adapter {type(self).__name__} cannot send bad input {kind!r}")


#: Bad input sent through the key ``put`` template: what goes in ``{key}``, and how the request is bent.
INVALID_JSON = b'{"api_key": "sk-ant-api03-unterminated'
OVERSIZED_PADDING = 1024 * 1024


class HttpTemplateAdapter(TargetAdapter):
    """Performs every operation from the profile's request templates."""

    def create_user(self, user: str) -> HttpCall:
        users = self._users()
        session: dict[str, Any] = {}
        self.sessions[user] = session
        call = self._send(users.create, user, {})
        session.update(self._capture(users.create, call, user))
        if users.login is not None:
            call = self._send(users.login, user, {})
            session.update(self._capture(users.login, call, user))
        return call

    def put_key(self, user: str, key: str) -> HttpCall:
        return self._send(self._key().put, user, {"key": key})

    def get_key(self, user: str) -> HttpCall:
        return self._send(self._key().get, user, {})

    def delete_key(self, user: str) -> HttpCall:
        return self._send(self._key().delete, user, {})

    def prompt(
        self, user: str, prompt: str, *, model: str, max_tokens: int, stream: bool
    ) -> HttpCall:
        template = (stream and self.profile.prompt_stream) or self.profile.prompt
        if template is None:
            raise DriverError("the profile has no [prompt] template")
        extra = {"prompt": prompt, "model": model, "max_tokens": max_tokens, "stream": stream}
        return self._send(template, user, extra)

    def attack(
        self, operation: str, user: str, victim: str, extra: dict[str, Any]
    ) -> HttpCall | None:
        template = getattr(self.profile.attacks, operation)
        if template is None:
            return None
        if victim not in self.sessions:
            raise DriverError(f"victim {victim!r} was never created")
        aimed = {f"victim_{k}": v for k, v in self.sessions[victim].items()}
        return self._send(template, user, {**extra, "victim": victim, **aimed})

    def bad_input(self, user: str, kind: str, secret: str | None, *, model: str) -> HttpCall:
        put = self._key().put
        if kind == "unknown_model":
            template = self.profile.prompt
            if template is None:
                raise DriverError("the profile has no [prompt] template")
            extra = {
                "prompt": "hello",
                "model": "claude-no-such-model-0",
                "max_tokens": self.profile.provider.max_tokens,
                "stream": False,
            }
            return self._send(template, user, extra)
        if kind == "invalid_json":
            return self._send(put, user, {"key": ""}, content=INVALID_JSON)
        if secret is None:
            raise DriverError(f"bad input {kind!r} needs a secret to submit")
        if kind in ("malformed_key", "oauth_token"):
            return self._send(put, user, {"key": secret})
        if kind == "oversized_body":
            return self._send(put, user, {"key": secret + "A" * OVERSIZED_PADDING})
        if kind == "no_auth":
            return self._send(put, user, {"key": secret}, auth=False)
        if kind == "bad_token":
            return self._send(put, user, {"key": secret}, override={"token": "not-a-valid-token"})
        if kind == "key_in_query":
            return self._send(put, user, {"key": ""}, query={"api_key": secret, "key": secret})
        raise DriverError(f"unknown bad input kind {kind!r}")

    # -- helpers ----------------------------------------------------------------------------------

    def _users(self) -> UsersSpec:
        if self.profile.users is None:
            raise DriverError("the profile has no [users] section")
        return self.profile.users

    def _key(self) -> KeySpec:
        if self.profile.key is None:
            raise DriverError("the profile has no [key] section")
        return self.profile.key

    def _send(
        self,
        template: RequestTemplate,
        user: str,
        extra: dict[str, Any],
        *,
        auth: bool = True,
        override: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> HttpCall:
        """Fill and send a template. The keyword arguments bend it for bad-input steps: drop the auth
        headers, replace captured values (a wrong token), add query parameters, send raw bytes."""
        if user not in self.sessions:
            raise DriverError(f"user {user!r} was never created")
        values = {**self.values, "user": user, **self.sessions[user], **extra, **(override or {})}
        try:
            headers = {k: fill_str(v, values) for k, v in template.headers.items()}
            if template.auth and auth:
                for name, value in self._users().auth_headers.items():
                    headers[name] = fill_str(value, values)
            if content is not None:
                headers.setdefault("content-type", "application/json")
            return self.driver.request(
                template.method,
                fill_str(template.path, values),
                headers=headers,
                query={k: fill_str(v, values) for k, v in template.query.items()} | (query or {}),
                json_body=fill(template.json_body, values) if content is None else None,
                form={k: fill_str(v, values) for k, v in template.form.items()}
                if template.form is not None and content is None
                else None,
                content=content,
            )
        except KeyError as exc:
            raise DriverError(
                f"placeholder {{{exc.args[0]}}} has no value yet for user {user!r}"
            ) from None

    @staticmethod
    def _capture(template: RequestTemplate, call: HttpCall, user: str) -> dict[str, Any]:
        if not template.capture:
            return {}
        if call.status is None or not 200 <= call.status < 300:
            raise DriverError(
                f"{template.method} {template.path} for user {user!r} answered HTTP {call.status}"
            )
        try:
            document = json.loads(decoded_body(call))
            return {name: json_path(document, path) for name, path in template.capture.items()}
        except (ValueError, KeyError) as exc:
            raise DriverError(
                f"{template.method} {template.path} for user {user!r}: cannot capture {exc} "
                "from the reply"
            ) from None


def decoded_body(call: HttpCall) -> bytes:
    """The reply body with its Content-Encoding undone (the driver records the bytes on the wire)."""
    response = httpx.Response(
        call.status or 0, headers=call.response_headers, stream=httpx.ByteStream(call.response_body)
    )
    return response.read()


#: Adapters known by a short name. Anything else is ``module:Class``.
ADAPTERS: dict[str, type[TargetAdapter]] = {"http": HttpTemplateAdapter}


def resolve_adapter(spec: str) -> type[TargetAdapter]:
    """The adapter class for a profile's ``adapter`` value; ``ValueError`` says why it is unusable."""
    if spec in ADAPTERS:
        return ADAPTERS[spec]
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        known = ", ".join(sorted(ADAPTERS))
        raise ValueError(f"unknown adapter {spec!r}: use one of {known} or 'module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import adapter module {module_name!r}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, TargetAdapter)):
        raise ValueError(f"{spec!r} is not a TargetAdapter subclass")
    return cls

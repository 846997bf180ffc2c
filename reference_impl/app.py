"""The HTTP API. `create_app(settings, components)`: every swappable part arrives in `components`."""

# No `from __future__ import annotations` here: FastAPI must resolve the endpoint annotations
# (including the local `CurrentUser` alias) at definition time.

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

import anyio
import httpx
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictBool, StrictFloat, StrictInt
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from reference_impl.apikey import (
    MAX_SUBMITTED_CHARS,
    PROVIDER_ANTHROPIC,
    ApiKey,
    KeyRejected,
    accept_anthropic_key,
)
from reference_impl.auth import Authenticator, new_token, token_digest
from reference_impl.crypto import (
    KeyCipher,
    KeyFingerprinter,
    RecordCipher,
    RecordContext,
    RecordError,
)
from reference_impl.errors import ApiError, error_response
from reference_impl.flaws import Flaw, FlawContext, apply_flaws
from reference_impl.keyring import Keyring
from reference_impl.logs import RequestLogger, RequestMeta, redact
from reference_impl.middleware import RequestGuard, request_meta
from reference_impl.settings import Settings
from reference_impl.store import (
    CapReached,
    Database,
    KeyStore,
    NameTaken,
    Reservation,
    SqlKeyStore,
    StoredKey,
    UsageStore,
    User,
    UserStore,
    open_database,
    utc_now,
)
from reference_impl.upstream import AnthropicUpstream, Upstream, UpstreamError, Usage

_STRICT = ConfigDict(extra="forbid", hide_input_in_errors=True)


class Fingerprinter(Protocol):
    def fingerprint(self, plaintext: bytes, context: RecordContext) -> str: ...


@dataclass(frozen=True)
class Components:
    """The parts a flawed variant may swap, one at a time."""

    cipher: KeyCipher
    fingerprinter: Fingerprinter
    keys: KeyStore
    users: UserStore
    usage: UsageStore
    upstream: Upstream
    request_logger: RequestLogger
    database: Database


def build_components(
    settings: Settings, keyring: Keyring, flaws: Sequence[Flaw] = ()
) -> Components:
    db = open_database(settings.db)
    # The clean server refuses any schema but its own; a flawed variant extends it on purpose
    # (a deleted_at column, a history or config table), so its own restarts must not refuse.
    db.init_schema(verify=not flaws)
    components = Components(
        cipher=RecordCipher(keyring),
        fingerprinter=KeyFingerprinter(keyring),
        keys=SqlKeyStore(db),
        users=UserStore(db),
        usage=UsageStore(db),
        upstream=AnthropicUpstream(timeout_s=settings.upstream_timeout_s),
        request_logger=RequestLogger(),
        database=db,
    )
    # A flawed variant (reference_impl/flaws, `--flaw`) swaps one part; the clean server has none.
    return apply_flaws(flaws, components, FlawContext(settings, keyring, db))


class KeyIn(BaseModel):
    """SecretStr keeps the submitted value out of this model's repr."""

    model_config = _STRICT
    api_key: SecretStr = Field(max_length=MAX_SUBMITTED_CHARS)


class KeyOut(BaseModel):
    provider: str
    fingerprint: str
    last4: str
    created_at: str
    updated_at: str


class SignupIn(BaseModel):
    model_config = _STRICT
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")


class SignupOut(BaseModel):
    user_id: str
    name: str
    token: str


class ChatMessage(BaseModel):
    model_config = _STRICT
    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class MessagesIn(BaseModel):
    """The Anthropic Messages request shape (the fields this server relays)."""

    model_config = _STRICT
    model: str = Field(max_length=100)
    max_tokens: StrictInt = Field(ge=1)
    messages: list[ChatMessage] = Field(min_length=1)
    system: str | list[dict[str, Any]] | None = None
    stream: StrictBool = False
    temperature: StrictFloat | StrictInt | None = Field(None, ge=0, le=1)
    top_p: StrictFloat | StrictInt | None = Field(None, ge=0, le=1)
    top_k: StrictInt | None = Field(None, ge=0)
    stop_sequences: list[str] | None = None

    def upstream_payload(self) -> dict[str, Any]:
        """Exactly what the user asked for: model and max_tokens are never changed."""
        payload = self.model_dump(exclude_none=True)
        if not self.stream:
            payload.pop("stream")
        return payload


_LOC_NAMES = frozenset(
    {"body", "header", "query", "path"}
    | set(KeyIn.model_fields)
    | set(SignupIn.model_fields)
    | set(MessagesIn.model_fields)
    | set(ChatMessage.model_fields)
)


def _safe_loc(part: object) -> object:
    """Field locations without user-chosen names (an unknown key could be a secret)."""
    if isinstance(part, int) or part in _LOC_NAMES:
        return part
    return "<field>"


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return error_response(400, "invalid_json", "the request body is not valid JSON")
    fields = [
        {
            "loc": [_safe_loc(part) for part in error.get("loc", ())],
            "type": error.get("type"),
            "msg": redact(str(error.get("msg", ""))),
        }
        for error in errors
    ]
    return JSONResponse(
        {
            "error": {
                "type": "invalid_request",
                "message": "the request does not match the expected shape (submitted values "
                "are not repeated here)",
                "fields": fields,
            }
        },
        status_code=422,
    )


def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.kind, exc.message, exc.headers)


def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kinds = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
    return error_response(
        exc.status_code,
        kinds.get(exc.status_code, "http_error"),
        str(exc.detail),
        getattr(exc, "headers", None),
    )


def _sse_error(kind: str, message: str) -> bytes:
    data = json.dumps({"type": "error", "error": {"type": kind, "message": message}})
    return f"event: error\ndata: {data}\n\n".encode()


def input_token_bound(payload: dict[str, Any]) -> int:
    """What a request's input may cost, for the cap hold: the UTF-8 size of the JSON sent.

    A text token covers at least one byte and the JSON punctuation more than pays for per-message
    framing; an image costs far fewer tokens than its base64 bytes. A PDF document block can cost
    more than its bytes: the settled count is then higher than the hold, never lower than real.
    """
    return len(json.dumps(payload, ensure_ascii=False).encode())


def _note_usage(meta: RequestMeta, usage: Usage) -> None:
    meta.input_tokens = usage.input_tokens
    meta.output_tokens = usage.output_tokens
    meta.cache_creation_input_tokens = usage.cache_creation_input_tokens
    meta.cache_read_input_tokens = usage.cache_read_input_tokens


@dataclass
class _CapHold:
    """One request's claim on the monthly count: reserved before the provider call and settled
    exactly once, however the request ends."""

    usage: UsageStore
    reservation: Reservation
    input_bound: int
    max_tokens: int
    settled: bool = False

    async def settle(self, reported: Usage | None) -> None:
        """`None`: the provider cannot have run the request, so nothing is counted. Otherwise
        count what it reported, every input kind included; a count it never reported (a timeout,
        a stream cut off before its final usage) is charged at the bound the hold assumed."""
        if self.settled:
            return
        self.settled = True
        if reported is None:
            input_tokens = output_tokens = 0
        else:
            input_tokens = reported.all_input_tokens
            if input_tokens is None:
                input_tokens = self.input_bound
            output_tokens = reported.output_tokens
            if not reported.final or output_tokens is None:
                output_tokens = self.max_tokens
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(
                self.usage.settle, self.reservation, input_tokens, output_tokens
            )


class _RelayResponse(StreamingResponse):
    """A relayed provider stream whose `on_close` runs however the response ends: read to the
    end, cut off by a client that went away (Starlette cancels the relay), or never started."""

    def __init__(
        self, content: AsyncIterator[bytes], on_close: Callable[[], Awaitable[None]]
    ) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._on_close()


def create_app(settings: Settings, components: Components) -> FastAPI:
    authenticator = Authenticator(components.users)
    allowed_models = ", ".join(settings.models)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await components.upstream.aclose()
        await run_in_threadpool(components.database.close)

    app = FastAPI(
        title="byok-ref",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(
        RequestGuard,
        request_logger=components.request_logger,
        max_body_bytes=settings.max_body_bytes,
    )

    def current_user(request: Request) -> User:
        user = authenticator.authenticate(request.headers.get("authorization"))
        request_meta(request.scope).user_id = user.user_id
        return user

    CurrentUser = Annotated[User, Depends(current_user)]

    def key_out(stored: StoredKey) -> KeyOut:
        return KeyOut(
            provider=stored.provider,
            fingerprint=stored.fingerprint,
            last4=stored.last4,
            created_at=stored.created_at,
            updated_at=stored.updated_at,
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    if settings.dev_signup:

        @app.post("/api/v1/dev/signup", status_code=201)
        def signup(body: SignupIn, request: Request) -> SignupOut:
            token = new_token()
            try:
                user = components.users.add(body.name, token_digest(token))
            except NameTaken:
                raise ApiError(409, "name_taken", "that user name is already taken") from None
            request_meta(request.scope).user_id = user.user_id
            return SignupOut(user_id=user.user_id, name=user.name, token=token)

    @app.put("/api/v1/claude-key")
    def put_key(body: KeyIn, user: CurrentUser, response: Response) -> KeyOut:
        try:
            api_key = accept_anthropic_key(body.api_key.get_secret_value())
        except KeyRejected as rejected:
            raise ApiError(rejected.status, rejected.kind, str(rejected)) from None
        context = RecordContext(user.user_id, PROVIDER_ANTHROPIC)
        plaintext = api_key.reveal().encode()
        record = components.cipher.encrypt(plaintext, context)
        now = utc_now()
        stored = StoredKey(
            user_id=user.user_id,
            provider=PROVIDER_ANTHROPIC,
            master_key_id=components.cipher.master_key_id(record),
            record=record,
            last4=api_key.last4,
            fingerprint=components.fingerprinter.fingerprint(plaintext, context),
            created_at=now,
            updated_at=now,
        )
        replaced = components.keys.put(stored)
        response.status_code = 200 if replaced else 201
        return key_out(stored)

    @app.get("/api/v1/claude-key")
    def get_key(user: CurrentUser) -> KeyOut:
        stored = components.keys.get(user.user_id, PROVIDER_ANTHROPIC)
        if stored is None:
            raise ApiError(404, "no_api_key", "no Anthropic API key is stored for this user")
        return key_out(stored)

    @app.delete("/api/v1/claude-key", status_code=204)
    def delete_key(user: CurrentUser) -> Response:
        if not components.keys.delete(user.user_id, PROVIDER_ANTHROPIC):
            raise ApiError(404, "no_api_key", "no Anthropic API key is stored for this user")
        return Response(status_code=204)

    def load_key(meta: RequestMeta, user: User) -> ApiKey:
        stored = components.keys.get(user.user_id, PROVIDER_ANTHROPIC)
        if stored is None:
            meta.error = "no_api_key"
            raise ApiError(
                400,
                "no_api_key",
                "no Anthropic API key is stored for this user; store one with "
                "PUT /api/v1/claude-key (nothing was sent to the provider)",
            )
        try:
            plaintext = components.cipher.decrypt(
                stored.record, RecordContext(user.user_id, PROVIDER_ANTHROPIC)
            )
            return ApiKey(plaintext.decode())
        except (RecordError, UnicodeDecodeError) as failure:
            meta.error = f"stored_key_undecryptable:{type(failure).__name__}"
            raise ApiError(
                409,
                "stored_key_undecryptable",
                "the stored key could not be decrypted, so nothing was sent to the provider; "
                "store it again with PUT /api/v1/claude-key",
            ) from None

    @app.post("/api/v1/messages", response_model=None)
    async def messages(
        body: MessagesIn, user: CurrentUser, request: Request
    ) -> Response | StreamingResponse:
        meta = request_meta(request.scope)
        meta.stream = body.stream
        if body.model not in settings.models:
            meta.error = "model_not_allowed"
            raise ApiError(
                400,
                "model_not_allowed",
                f"that model is not allowed on this server; allowed models: {allowed_models}",
            )
        meta.model = body.model
        if body.max_tokens > settings.max_tokens_limit:
            meta.error = "max_tokens_over_limit"
            raise ApiError(
                400,
                "max_tokens_over_limit",
                f"max_tokens is above this server's limit of {settings.max_tokens_limit}; "
                "it is refused rather than lowered",
            )
        cap = settings.monthly_token_cap
        payload = body.upstream_payload()
        input_bound = input_token_bound(payload)
        worst_case = body.max_tokens + input_bound
        try:
            reservation = await run_in_threadpool(
                components.usage.reserve, user.user_id, worst_case, cap
            )
        except CapReached as refused:
            meta.error = "monthly_token_cap_reached"
            raise ApiError(
                429,
                "monthly_token_cap_reached",
                f"this request could use up to {worst_case} tokens (max_tokens plus a bound on "
                f"its input) and {refused.remaining} of this user's monthly cap of {cap} remain "
                "(requests in flight count in full until they finish); nothing was sent",
            ) from None
        hold = _CapHold(components.usage, reservation, input_bound, body.max_tokens)
        may_have_run = False
        try:
            api_key = await run_in_threadpool(load_key, meta, user)
            meta.upstream_host = components.upstream.host
            try:
                may_have_run = True
                if body.stream:
                    stream = await components.upstream.open_stream(api_key, payload)
                else:
                    reply = await components.upstream.send(api_key, payload)
            except UpstreamError as failure:
                may_have_run = failure.may_have_run
                meta.upstream_status = failure.upstream_status
                meta.error = failure.kind
                headers = {"retry-after": failure.retry_after} if failure.retry_after else None
                raise ApiError(
                    failure.status, failure.kind, failure.message, headers=headers
                ) from None
            finally:
                del api_key
            if not body.stream:
                meta.upstream_status = reply.status
                _note_usage(meta, reply.usage)
                await hold.settle(reply.usage)
                return Response(reply.body, media_type="application/json")
            meta.upstream_status = stream.status
        except BaseException:
            await hold.settle(Usage() if may_have_run else None)
            raise

        async def relay() -> AsyncIterator[bytes]:
            try:
                async with aclosing(stream.chunks()) as chunks:
                    async for chunk in chunks:
                        yield chunk
            except httpx.HTTPError:
                meta.error = "provider_stream_interrupted"
                yield _sse_error("provider_stream_interrupted", "the provider stream broke off")
            finally:
                # Before the last body message: it writes the log line, and the client may send
                # its next request at once.
                _note_usage(meta, stream.usage)
                await hold.settle(stream.usage)

        relayed = relay()

        async def close() -> None:
            try:
                await relayed.aclose()
                await stream.aclose()
            finally:
                _note_usage(meta, stream.usage)
                await hold.settle(stream.usage)

        return _RelayResponse(relayed, close)

    return app

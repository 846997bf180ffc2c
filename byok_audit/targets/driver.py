"""The HTTP client that drives the target's own API, straight to loopback, recording every call.

``trust_env=False``: the driver must never go through the audit's proxy (its calls are not the target's
egress) nor pick up the machine's proxy settings.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from byok_audit.errors import DriverError, RequestTimeout
from byok_audit.models.evidence import HttpCall

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")


def json_path(document: Any, path: str) -> Any:
    """Follow ``$.a.b[0]`` into a parsed JSON document; ``KeyError`` if any step is missing."""
    value = document
    for match in _STEP.finditer(path[1:]):
        name, index = match.groups()
        if name is not None:
            if not isinstance(value, dict) or name not in value:
                raise KeyError(path)
            value = value[name]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                raise KeyError(path)
            value = value[int(index)]
    return value


class Driver:
    """Sends requests to the target and hands each :class:`HttpCall` to ``on_call`` as it completes."""

    def __init__(
        self,
        base_url: str,
        timeout: float,
        on_call: Callable[[HttpCall], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.on_call = on_call
        self._client = httpx.Client(trust_env=False, timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> HttpCall:
        """One call; the whole response is read (streams included) within ``timeout`` seconds.

        ``content`` sends raw bytes as they are (malformed-input steps); ``json_body`` serialises.
        """
        url = self.base_url + path
        send_headers = dict(headers or {})
        if json_body is not None:
            content = json.dumps(json_body).encode()
            send_headers.setdefault("content-type", "application/json")
        request = self._client.build_request(
            method, url, headers=send_headers, params=query or None, content=content, data=form
        )
        call = HttpCall(
            method=method,
            url=str(request.url),
            request_headers=[(k.decode(), v.decode()) for k, v in request.headers.raw],
            request_body=request.read(),
        )
        started = time.monotonic()
        try:
            response = self._client.send(request, stream=True)
            try:
                body = bytearray()
                for chunk in response.iter_raw():
                    body += chunk
                    if time.monotonic() - started > self.timeout:
                        raise httpx.ReadTimeout("response still streaming past the timeout")
            finally:
                response.close()
            call.status = response.status_code
            call.response_headers = [(k.decode(), v.decode()) for k, v in response.headers.raw]
            call.response_body = bytes(body)
        except httpx.TimeoutException as exc:
            call.error = f"timeout after {self.timeout:g}s: {type(exc).__name__}"
            self._done(call, started)
            raise RequestTimeout(
                f"{method} {url} did not complete within {self.timeout:g}s"
            ) from None
        except httpx.HTTPError as exc:
            call.error = f"{type(exc).__name__}: {exc}"
            self._done(call, started)
            raise DriverError(f"{method} {url} failed: {call.error}") from None
        self._done(call, started)
        return call

    def _done(self, call: HttpCall, started: float) -> None:
        call.elapsed = time.monotonic() - started
        if self.on_call is not None:
            self.on_call(call)

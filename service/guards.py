"""What every request passes before any route runs (an ASGI middleware, for HTTP and WebSocket alike):

1. `Host` must be an allowed host, and `Origin` (sent by browsers) an allowed origin: a web page the
   user opens can neither reach the API by DNS rebinding nor stream it across origins (WebSockets are
   not covered by CORS). 421 / 403.
2. The caller's key (`Authorization: Bearer …` or `X-API-Key`; on the live endpoints also `?api_key=`,
   since browsers can set no header on a WebSocket or an EventSource) must be a configured one: 401.
   Without configured keys everyone is `anonymous` with every scope (the service then runs on loopback
   only, or with AUTH_DISABLED: service/auth.py `refusal`).
3. A per-key request rate (per client address when open), service/rate.py: 429 + Retry-After.
4. A request body at most MAX_BODY_BYTES: 413.

What a key may do (its scope) is checked by the routes (service/deps.py `allow`). Health, readiness and
the API's documentation and the analyst page's code are open to all.
"""

from __future__ import annotations

from typing import Final

import structlog
from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from knowledge.metrics import AUTH_DECISIONS
from service.auth import OPEN, KeyRing, Principal
from service.errors import error_body, kind_of
from service.rate import RateLimiter
from service.settings import SecuritySettings

log = structlog.get_logger(__name__)

OPEN_PATHS: Final = frozenset({"/", "/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
#: The analyst page's assets (service/routers/page.py): code and style, no data; the page asks for a key.
OPEN_PREFIXES: Final = ("/ui/",)
#: Where a key may come as `?api_key=` (browsers cannot send headers there).
LIVE_PATHS: Final = frozenset({"/v1/stream", "/v1/subscribe"})


class BodyTooLarge(HTTPException):
    """The request body went past MAX_BODY_BYTES while it was read (FastAPI passes HTTPExceptions raised
    while it reads a body through to the error handlers: a 413 in the one shape)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail={"field": "body", "reason": _too_large(limit)})


def host_matches(value: str, patterns: list[str]) -> bool:
    """`value` (host[:port], or scheme://host[:port] for origins) against patterns whose port may be `*`."""
    for pattern in patterns:
        if pattern == "*" or value == pattern:
            return True
        if pattern.endswith(":*"):
            base, _, port = value.rpartition(":")
            if value == pattern[:-2] or (base == pattern[:-2] and port.isdigit()):  # any port, or none
                return True
    return False


class Guard:
    """Host/Origin, key, rate and body size, for every HTTP request and WebSocket handshake."""

    def __init__(self, app: ASGIApp, settings: SecuritySettings, keys: KeyRing) -> None:
        self.app = app
        self._settings = settings
        self._keys = keys
        self._hosts = settings.hosts
        self._origins = settings.origins
        self._limiter = RateLimiter(settings.rate_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if "*" not in self._hosts and not host_matches(headers.get("host", ""), self._hosts):
            await _refuse(scope, send, 421, "host", "this Host is not served here")
            return
        origin = headers.get("origin")
        if origin is not None and "*" not in self._origins and not host_matches(origin, self._origins):
            await _refuse(scope, send, 403, "origin", "requests from this Origin are not allowed")
            return
        if scope["path"] in OPEN_PATHS or scope["path"].startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        principal = self._principal(scope, headers)
        if principal is None:
            AUTH_DECISIONS.labels("unknown", "401").inc()
            await _refuse(scope, send, 401, "authorization", "a valid API key is required",
                          {"www-authenticate": "Bearer"})  # fmt: skip
            return
        wait_s = self._over_rate(principal, scope)
        if wait_s is not None:
            AUTH_DECISIONS.labels(principal.name, "429").inc()
            await _refuse(scope, send, 429, "", f"over {self._settings.rate_limit}",
                          {"retry-after": str(wait_s)})  # fmt: skip
            return
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self._settings.max_body_bytes:
            await _refuse(scope, send, 413, "body", _too_large(self._settings.max_body_bytes))
            return
        scope.setdefault("state", {})["principal"] = principal
        await self._bounded(scope, receive, send)

    def _principal(self, scope: Scope, headers: Headers) -> Principal | None:
        """The caller: OPEN without configured keys; else the key's principal, or None (no or bad key)."""
        if not self._keys.enabled:
            return OPEN
        secret = headers.get("x-api-key")
        authorization = headers.get("authorization", "")
        if secret is None and authorization.lower().startswith("bearer "):
            secret = authorization[7:].strip()
        if secret is None and scope["path"] in LIVE_PATHS:
            secret = QueryParams(scope.get("query_string", b"").decode("latin-1")).get("api_key")
        return self._keys.verify(secret) if secret else None

    def _over_rate(self, principal: Principal, scope: Scope) -> int | None:
        """Seconds to wait when `principal` is over its rate, else None (and the request is counted)."""
        client = scope.get("client")
        who = principal.name if principal is not OPEN else f"addr:{client[0] if client else '?'}"
        return self._limiter.hit(who)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, answering 413 if the body grows past the limit while it is read (no Content-Length)."""
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self._settings.max_body_bytes:
                    raise BodyTooLarge(self._settings.max_body_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive if scope["type"] == "http" else receive, watching_send)
        except BodyTooLarge:  # read outside FastAPI's body parsing (e.g. by the MCP transport)
            if started:
                raise
            await _refuse(scope, send, 413, "body", _too_large(self._settings.max_body_bytes))


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


async def _refuse(
    scope: Scope, send: Send, status: int, field: str, reason: str, headers: dict[str, str] | None = None
) -> None:
    """Answer with the one error shape (HTTP) or refuse the WebSocket handshake (which a client sees as 403)."""
    log.info("request_refused", path=scope.get("path"), status=status, reason=reason)
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})
        return
    response = JSONResponse(error_body(kind_of(status), [{"field": field, "reason": reason}]), status, headers=headers)
    await response(scope, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}

"""Typed access to what the lifespan built: no globals."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, WebSocket
from starlette.requests import HTTPConnection

from knowledge.breaker import CircuitBreaker
from knowledge.embedder import Embedder
from knowledge.metrics import AUTH_DECISIONS
from knowledge.store.base import KnowledgeStore
from service.auth import OPEN, Principal, Scope
from service.hub import Hub


@dataclass
class Runtime:
    """The parts a request may use, built once per app in the lifespan."""

    embedder: Embedder
    store: KnowledgeStore
    consumer: Any | None = None  # the in-process AIOKafkaConsumer, when the API runs the consumer
    breaker: CircuitBreaker | None = None  # the in-process consumer's store breaker
    readiness_timeout_s: float = 2.0
    hub: Hub = field(default_factory=Hub)
    flags: dict[str, bool] = field(default_factory=dict)
    #: background tasks that failed (name -> exception type): /readyz reports them
    stopped: dict[str, str] = field(default_factory=dict)


def principal_of(connection: HTTPConnection) -> Principal:
    """Who is calling (service/guards.py put it on the connection); anonymous with every scope when
    the service runs open."""
    found = connection.scope.get("state", {}).get("principal")
    return found if isinstance(found, Principal) else OPEN


def allow(needed: Scope, *, writes: bool = False) -> Callable[[HTTPConnection], Coroutine[None, None, Principal]]:
    """A dependency: the caller, if its key has `needed`; else 403. `writes`: also refused (403) while
    the service is read-only (QDRANT_READ_ONLY). Dependencies are `async def` on purpose: FastAPI runs a
    plain `def` one in its thread pool, a thread hand-off per request for a dictionary lookup."""

    async def check(connection: HTTPConnection) -> Principal:
        principal = principal_of(connection)
        if writes and connection.app.state.read_only:
            AUTH_DECISIONS.labels(principal.name, "403").inc()
            raise HTTPException(403, detail={"field": "", "reason": "the service is read-only (QDRANT_READ_ONLY)"})
        if not principal.may(needed):
            AUTH_DECISIONS.labels(principal.name, "403").inc()
            raise HTTPException(403, detail={"field": "authorization", "reason": refused(principal, needed)})
        return principal

    return check


def refused(principal: Principal, needed: Scope) -> str:
    """Why `principal` may not do what needs `needed`."""
    return f"the key {principal.name!r} has the {principal.scope.name.lower()} scope; this needs {needed.name.lower()}"


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.state.runtime
    return runtime


def get_runtime_ws(websocket: WebSocket) -> Runtime:
    runtime: Runtime = websocket.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

Reader = Annotated[Principal, Depends(allow(Scope.READ))]
Writer = Annotated[Principal, Depends(allow(Scope.WRITE, writes=True))]

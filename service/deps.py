"""Typed access to what the lifespan built: no globals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request, WebSocket

from knowledge.breaker import CircuitBreaker
from knowledge.embedder import Embedder
from knowledge.store.base import KnowledgeStore
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


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.state.runtime
    return runtime


def get_runtime_ws(websocket: WebSocket) -> Runtime:
    runtime: Runtime = websocket.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

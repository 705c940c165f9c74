"""`create_app(settings)`: the FastAPI app and its lifespan.

The lifespan loads the model, opens the store, and (by default) runs the Kafka consumer loop in the
same process: the embedded store belongs to one process, so in embedded mode the API owns it.
On shutdown the consumer stops fetching, finishes and commits its batch, then everything closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI

from consumers.loop import ingest_loop
from knowledge.breaker import CircuitBreaker
from knowledge.embedder import FastembedEmbedder
from knowledge.runtime import open_knowledge
from service.deps import Runtime
from service.errors import install_error_handlers
from service.middleware import RequestContext
from service.routers import events, health, metrics, search
from service.settings import AppSettings

log = structlog.get_logger(__name__)


def create_app(settings: AppSettings, embedder: FastembedEmbedder | None = None) -> FastAPI:
    """The app for `settings`. Pass `embedder` to share one loaded model (tests do)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            model, store = await stack.enter_async_context(open_knowledge(settings.knowledge, embedder))
            runtime = Runtime(embedder=model, store=store, readiness_timeout_s=settings.service.readiness_timeout_s)
            if not settings.service.run_consumer:
                log.info("api_started", consumer="separate process")
                yield {"runtime": runtime}
                return
            breaker = CircuitBreaker()
            loop = await stack.enter_async_context(ingest_loop(settings.consumer, model, store, breaker=breaker))
            runtime.consumer = loop.consumer
            runtime.breaker = breaker
            stop = asyncio.Event()
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(loop.run(stop), name="ingest-loop")
                log.info("api_started", consumer="in process", topics=settings.consumer.topics)
                try:
                    yield {"runtime": runtime}
                finally:
                    stop.set()

    app = FastAPI(
        title="The Great Work: event knowledge service",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(RequestContext)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(search.router)
    app.include_router(events.router)
    return app

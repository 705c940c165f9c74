"""`create_app(settings)`: the FastAPI app and its lifespan.

The lifespan loads the model, opens the store, and (by default) runs the Kafka consumer loop in the
same process: the embedded store belongs to one process, so in embedded mode the API owns it.
On shutdown the consumer stops fetching, finishes and commits its batch, then everything closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI

from consumers.loop import ingest_loop
from knowledge.breaker import CircuitBreaker
from knowledge.embedder import FastembedEmbedder
from knowledge.runtime import freeze_startup_objects, open_knowledge
from knowledge.store.edge_optimizer import keep_optimized
from schemas.documents import DocumentBase
from service.auth import KeyRing
from service.background import supervised
from service.deps import Runtime
from service.errors import install_error_handlers
from service.guards import Guard
from service.hub import Hub
from service.mcp import build_mcp, http_routes
from service.middleware import RequestContext
from service.relay import relay_notices
from service.routers import events, health, live, metrics, notes, search
from service.routers.page import install_page
from service.settings import AppSettings

log = structlog.get_logger(__name__)

#: How long shutdown waits for live streams to send their goodbye before the server closes them.
STREAMS_GOODBYE_S = 2.0


def create_app(
    settings: AppSettings, embedder: FastembedEmbedder | None = None, on_fatal: Callable[[], None] = lambda: None
) -> FastAPI:
    """The app for `settings`. Pass `embedder` to share one loaded model (tests do), and `on_fatal` to be
    told when background work fails (`python -m service` stops the server and exits 1)."""

    security = settings.security
    keys = KeyRing.load(security.api_keys, security.api_keys_file)
    current: dict[str, Runtime] = {}
    url = f"http://{settings.service.api_host}:{settings.service.api_port}"
    agents = build_mcp(lambda: current["runtime"], keys, read_only=security.qdrant_read_only, url=url,
                       tools=settings.mcp, collection=settings.knowledge.collection_name)  # fmt: skip

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            model, store = await stack.enter_async_context(open_knowledge(settings.knowledge, embedder))
            hub = Hub(security.live_max_subscriptions, security.live_max_subscriptions_per_key)
            freeze_startup_objects()  # before the first request: what is loaded now stays
            runtime = Runtime(
                embedder=model, store=store, readiness_timeout_s=settings.service.readiness_timeout_s, hub=hub
            )
            current["runtime"] = runtime
            await stack.enter_async_context(agents.session_manager.run())
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()

            def begin_shutdown() -> None:  # on the loop: stop fetching now, end every live stream
                stop.set()
                runtime.hub.close()

            async def end_streams_then(then: Callable[[], None]) -> None:
                """Every live stream says goodbye itself (WebSocket close 1001, SSE `event: end`) before
                the server closes the connections it still holds (with 1012, or by cutting them)."""
                begin_shutdown()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(STREAMS_GOODBYE_S):
                        await runtime.hub.ended()
                then()

            app.state.begin_shutdown = lambda then: asyncio.run_coroutine_threadsafe(end_streams_then(then), loop)
            relaying: asyncio.Task[None] | None = None
            async with asyncio.TaskGroup() as tasks:
                optimizing = tasks.create_task(keep_optimized(store, settings.knowledge), name="store_optimizer")
                if settings.service.run_consumer:
                    breaker = CircuitBreaker()

                    async def publish(documents: Sequence[DocumentBase], vectors: Sequence[list[float]]) -> None:
                        runtime.hub.publish(documents, vectors)

                    ingest = await stack.enter_async_context(
                        ingest_loop(settings.consumer, model, store, on_indexed=publish, breaker=breaker)
                    )
                    runtime.consumer, runtime.breaker = ingest.consumer, breaker
                    tasks.create_task(supervised("consumer", ingest.run(stop), runtime, on_fatal), name="consumer")
                elif settings.service.live_notices:
                    relay = supervised("notice_relay", relay_notices(settings.consumer, runtime.hub), runtime, on_fatal)
                    relaying = tasks.create_task(relay, name="notice_relay")
                log.info("api_started", consumer="in process" if settings.service.run_consumer else "separate process")
                try:
                    yield {"runtime": runtime}
                finally:
                    begin_shutdown()
                    optimizing.cancel()  # an optimization under way is given up: the shard served is complete
                    if relaying is not None:  # runs until cancelled: it holds no work to finish
                        relaying.cancel()

    app = FastAPI(
        title="The Great Work: event knowledge service",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.read_only = security.qdrant_read_only
    install_error_handlers(app)
    app.add_middleware(Guard, settings=security, keys=keys)  # inside RequestContext: refusals are logged too
    app.add_middleware(RequestContext)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(search.router)
    app.include_router(events.router)
    app.include_router(notes.router)
    app.include_router(live.router)
    app.router.routes.extend(http_routes(agents, security.hosts))
    install_page(app)
    return app


def request_shutdown(app: FastAPI, then: Callable[[], None] = lambda: None) -> None:
    """Begin shutting down at once (safe from a signal handler): the consumer stops fetching and
    finishes its batch, every live stream is ended, and once they all said goodbye (at most
    STREAMS_GOODBYE_S) `then` runs (the server's own shutdown, which then waits on none of them).
    The lifespan's exit completes it."""
    begin: Callable[[Callable[[], None]], Any] | None = getattr(app.state, "begin_shutdown", None)
    if begin is not None:
        begin(then)
    else:  # not started (or already stopped): nothing to end first
        then()

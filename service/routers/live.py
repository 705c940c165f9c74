"""Live subscriptions: `WebSocket /v1/subscribe` and `GET /v1/stream` (server-sent events).

A client registers a standing query (text, filters, minimum score); every newly indexed event that
matches is pushed with its score. Each client has its own bounded queue (service/hub.py): a slow
client loses its oldest waiting events (told with `dropped_before`), never slows anyone else.
When the service shuts down, every stream is told so and closed at once (WebSocket close code 1001,
an SSE `event: end`), so shutdown never waits on a listener.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from knowledge.errors import Overloaded, StoreUnavailable
from knowledge.search import with_threads
from schemas.search import QueryText, SearchFilters, StreamQuery
from service.auth import Scope
from service.deps import Reader, Runtime, RuntimeDep, get_runtime_ws, principal_of
from service.errors import validation_errors
from service.hub import QUEUE_SIZE, HubClosed, Subscription, TooManySubscriptions

router = APIRouter(prefix="/v1", tags=["live"])
KEEPALIVE_S = 15.0
#: Most waiting events a stream sends in one go (SSE: in one write): all a subscription can hold, so a
#: consumer batch reaches a subscriber in one write (a write costs more than its bytes).
SSE_BURST = QUEUE_SIZE
#: WebSocket close codes: policy violation (a bad standing query), going away (shutdown), try again
#: later (too many subscriptions).
CLOSE_BAD_QUERY = 1008
CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN_LATER = 1013
#: Why a subscription could not start now, as the error message says it (then close 1013).
_REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (TooManySubscriptions, "too_many_requests"),
    (StoreUnavailable, "store_unavailable"),
    (Overloaded, "overloaded"),
)


class StandingQuery(BaseModel):
    """What a subscriber wants to hear about."""

    model_config = ConfigDict(extra="forbid")

    query: QueryText
    filters: SearchFilters = Field(default_factory=SearchFilters)
    min_score: float = Field(default=0.3, ge=-1, le=1, allow_inf_nan=False)


async def _subscribe(runtime: Runtime, standing: StandingQuery, owner: str) -> Subscription:
    vector = await runtime.embedder.embed_query(standing.query)
    filters = await with_threads(runtime.store, standing.filters)  # a player's threads so far; more as they open
    return runtime.hub.subscribe(standing.query, vector, filters, standing.min_score, owner)


async def _standing_query(websocket: WebSocket) -> StandingQuery | None:
    """The client's first message as a standing query; None (after telling the client why and closing)
    when it is not one, or when the client left."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    text: Any = message.get("text")
    if text is None:
        text = message.get("bytes") or b""
    try:
        return StandingQuery.model_validate_json(text)
    except ValidationError as exc:
        errors = validation_errors(exc.errors())
    await websocket.send_json({"type": "error", "error": "invalid_request", "errors": errors})
    await websocket.close(code=CLOSE_BAD_QUERY)
    return None


@router.websocket("/subscribe")
async def subscribe(websocket: WebSocket) -> None:
    """Send one JSON standing query; receive `{"type": "subscribed"}`, then one message per match."""
    runtime = get_runtime_ws(websocket)
    principal = principal_of(websocket)
    if not principal.may(Scope.READ):  # (keys without read do not exist today; kept for new scopes)
        await websocket.close(code=CLOSE_BAD_QUERY)
        return
    await websocket.accept()
    try:
        standing = await _standing_query(websocket)
        if standing is None:
            return
        try:
            subscription = await _subscribe(runtime, standing, principal.name)
        except HubClosed:
            await websocket.close(code=CLOSE_GOING_AWAY)
            return
        except tuple(cls for cls, _ in _REFUSALS) as exc:  # (the store: a player's threads are read)
            error = next(kind for cls, kind in _REFUSALS if isinstance(exc, cls))
            await websocket.send_json({"type": "error", "error": error, "errors": [{"field": "", "reason": str(exc)}]})
            await websocket.close(code=CLOSE_TRY_AGAIN_LATER)
            return
    except WebSocketDisconnect:
        return
    receiving = asyncio.create_task(websocket.receive())  # notices the client leaving
    try:
        await websocket.send_json({"type": "subscribed", "id": subscription.id})
        while True:
            sending = asyncio.create_task(subscription.next())
            done, _ = await asyncio.wait({sending, receiving}, return_when=asyncio.FIRST_COMPLETED)
            if receiving in done:
                sending.cancel()
                break
            message = sending.result()
            if message is None:  # shutting down
                await websocket.close(code=CLOSE_GOING_AWAY)
                break
            for waiting in [message, *subscription.ready(SSE_BURST)]:  # what else is waiting, without a task each
                await websocket.send_text(waiting)
    except (WebSocketDisconnect, RuntimeError):  # the client left mid-send
        pass
    finally:
        receiving.cancel()
        runtime.hub.unsubscribe(subscription)


@router.get("/stream")
async def stream(
    runtime: RuntimeDep,
    params: Annotated[StreamQuery, Query()],
    principal: Reader,
) -> StreamingResponse:
    """The same as the WebSocket, as server-sent events (`event: event`, JSON data), for simple clients:
    `?query=…&min_score=…` plus any search filter (and `api_key=…` where keys are configured: an
    EventSource cannot send headers). The stream ends with `event: end` at shutdown."""
    standing = StandingQuery(query=params.query, filters=params.filters(), min_score=params.min_score)
    try:
        subscription = await _subscribe(runtime, standing, principal.name)
    except HubClosed:
        raise HTTPException(status_code=503, detail={"field": "", "reason": "the service is shutting down"}) from None
    except TooManySubscriptions as exc:
        raise HTTPException(429, detail={"field": "", "reason": str(exc)}, headers={"Retry-After": "30"}) from None

    async def events() -> AsyncIterator[bytes]:
        try:
            yield f"event: subscribed\ndata: {json.dumps({'id': subscription.id})}\n\n".encode()
            # The response itself ends this generator when the client leaves: Starlette listens for the
            # disconnect beside the stream (on ASGI 2.4 servers the next write fails, a keep-alive at
            # the latest), so the loop does not ask `request.is_disconnected()` before every message.
            while True:
                try:
                    async with asyncio.timeout(KEEPALIVE_S):
                        more = await subscription.arrived()
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if not more:
                    yield b'event: end\ndata: {"reason": "the service is shutting down"}\n\n'
                    return
                # everything already waiting goes in the same write: one send per burst, not per event
                yield subscription.framed(SSE_BURST, b"event: event\ndata: ", b"\n\n")
        finally:
            runtime.hub.unsubscribe(subscription)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

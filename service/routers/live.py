"""Live subscriptions: `WebSocket /v1/subscribe` and `GET /v1/stream` (server-sent events).

A client registers a standing query (text, filters, minimum score); every newly indexed event that
matches is pushed with its score. Each client has its own bounded queue (service/hub.py): a slow
client loses its oldest waiting events (told with `dropped_before`), never slows anyone else.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.search import SearchFilters, StreamQuery
from service.deps import Runtime, RuntimeDep, get_runtime_ws
from service.hub import Subscription

router = APIRouter(prefix="/v1", tags=["live"])
KEEPALIVE_S = 15.0


class StandingQuery(BaseModel):
    """What a subscriber wants to hear about."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2000)
    filters: SearchFilters = Field(default_factory=SearchFilters)
    min_score: float = Field(default=0.3, ge=-1, le=1)


async def _subscribe(runtime: Runtime, standing: StandingQuery) -> Subscription:
    vector = await runtime.embedder.embed_query(standing.query)
    return runtime.hub.subscribe(standing.query, vector, standing.filters, standing.min_score)


@router.websocket("/subscribe")
async def subscribe(websocket: WebSocket) -> None:
    """Send one JSON standing query; receive `{"type": "subscribed"}`, then one message per match."""
    runtime = get_runtime_ws(websocket)
    await websocket.accept()
    try:
        standing = StandingQuery.model_validate_json(await websocket.receive_text())
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "reason": e["msg"]} for e in exc.errors()]
        await websocket.send_json({"type": "error", "errors": errors})
        await websocket.close(code=1008)
        return
    except WebSocketDisconnect:
        return
    subscription = await _subscribe(runtime, standing)
    try:
        await websocket.send_json({"type": "subscribed", "id": subscription.id})
        receiving = asyncio.create_task(websocket.receive_text())  # notices the client leaving
        while True:
            sending = asyncio.create_task(subscription.next())
            done, _ = await asyncio.wait({sending, receiving}, return_when=asyncio.FIRST_COMPLETED)
            if receiving in done:
                sending.cancel()
                break
            await websocket.send_json(sending.result())
    except WebSocketDisconnect:
        pass
    finally:
        runtime.hub.unsubscribe(subscription)


@router.get("/stream")
async def stream(
    request: Request,
    runtime: RuntimeDep,
    params: Annotated[StreamQuery, Query()],
) -> StreamingResponse:
    """The same as the WebSocket, as server-sent events (`event: event`, JSON data), for simple clients:
    `?query=…&min_score=…` plus any search filter."""
    standing = StandingQuery(query=params.query, filters=params.filters(), min_score=params.min_score)
    subscription = await _subscribe(runtime, standing)

    async def events() -> AsyncIterator[str]:
        try:
            yield f"event: subscribed\ndata: {json.dumps({'id': subscription.id})}\n\n"
            while not await request.is_disconnected():
                try:
                    async with asyncio.timeout(KEEPALIVE_S):
                        message = await subscription.next()
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: event\ndata: {json.dumps(message)}\n\n"
        finally:
            runtime.hub.unsubscribe(subscription)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

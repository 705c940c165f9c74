"""`GET /v1/events/{event_id}`: one indexed event."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from knowledge.metrics import SEARCH_SECONDS
from knowledge.search import get_event
from schemas.events import MAX_EVENT_ID_CHARS
from schemas.search import StoredDocument
from service.deps import RuntimeDep

router = APIRouter(prefix="/v1", tags=["events"])


@router.get("/events/{event_id}")
async def read_event(
    event_id: Annotated[str, Path(min_length=1, max_length=MAX_EVENT_ID_CHARS)], runtime: RuntimeDep
) -> StoredDocument:
    """The stored document of `event_id`; 404 when it is not indexed (yet)."""
    with SEARCH_SECONDS.labels("event", "lookup").time():
        document = await get_event(runtime.store, event_id)
    if document is None:
        raise HTTPException(status_code=404, detail={"field": "event_id", "reason": "no indexed event has this id"})
    return document

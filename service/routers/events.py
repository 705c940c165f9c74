"""`GET /v1/events/{event_id}`: one indexed event."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from knowledge.metrics import SEARCH_SECONDS
from knowledge.search import BadCursor, get_event, related, timeline
from schemas.events import MAX_EVENT_ID_CHARS
from schemas.search import (
    MAX_TOP_K,
    EntityKind,
    RelatedQuery,
    RelatedResponse,
    StoredDocument,
    TimelineOrder,
    TimelinePage,
)
from service.auth import Scope
from service.deps import RuntimeDep, allow

router = APIRouter(prefix="/v1", tags=["events"], dependencies=[Depends(allow(Scope.READ))])


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


@router.get("/events/{event_id}/related")
async def related_events(
    event_id: Annotated[str, Path(min_length=1, max_length=MAX_EVENT_ID_CHARS)],
    params: Annotated[RelatedQuery, Query()],
    runtime: RuntimeDep,
) -> RelatedResponse:
    """Events nearest to this one by its stored vector (itself excluded), passing the same filters as search."""
    with SEARCH_SECONDS.labels("related", "vector").time():
        hits = await related(runtime.store, event_id, params.top_k, params.filters())
    if hits is None:
        raise HTTPException(status_code=404, detail={"field": "event_id", "reason": "no indexed event has this id"})
    return RelatedResponse(event_id=event_id, hits=hits)


@router.get("/entities/{kind}/{entity_id}/timeline")
async def entity_timeline(
    kind: EntityKind,
    entity_id: Annotated[str, Path(min_length=1, max_length=200)],
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=MAX_TOP_K)] = 20,
    cursor: Annotated[str | None, Query(max_length=4000)] = None,
    order: TimelineOrder = "oldest",
) -> TimelinePage:
    """A player's, scholar's or expedition's events, oldest (or newest) first, paged by cursor."""
    try:
        with SEARCH_SECONDS.labels("timeline", "scroll").time():
            return await timeline(runtime.store, kind, entity_id, limit, cursor, order)
    except BadCursor as exc:
        raise HTTPException(status_code=422, detail={"field": "cursor", "reason": str(exc)}) from None

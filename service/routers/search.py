"""`POST /v1/search`: semantic search with filters."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from knowledge.metrics import SEARCH_SECONDS
from knowledge.search import facets as count_facets
from knowledge.search import search as run_search
from schemas.search import FacetRequest, FacetResponse, SearchRequest, SearchResponse
from service.auth import Scope
from service.body import StrictJsonRoute
from service.deps import RuntimeDep, allow

router = APIRouter(
    prefix="/v1", tags=["search"], dependencies=[Depends(allow(Scope.READ))], route_class=StrictJsonRoute
)


@router.post("/search")
async def search(request: SearchRequest, runtime: RuntimeDep) -> SearchResponse:
    """Events nearest in meaning to `query` that pass every filter, best first, with scores."""
    with SEARCH_SECONDS.labels("search", request.mode).time():
        return await run_search(runtime.embedder, runtime.store, request)


@router.post("/facets")
async def facets(request: FacetRequest, runtime: RuntimeDep) -> FacetResponse:
    """Counts by category, action and player: among the hits of `query`, or among every match of `filters`."""
    with SEARCH_SECONDS.labels("facets", "hybrid" if request.query else "exact").time():
        return await count_facets(runtime.embedder, runtime.store, request)

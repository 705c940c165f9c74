"""`GET /metrics`: Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.auth import Scope
from service.deps import allow

router = APIRouter(tags=["operations"], dependencies=[Depends(allow(Scope.READ))])


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Every metric of this process (docs/OPERATIONS.md)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

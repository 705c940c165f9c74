"""`GET /metrics`: Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Every metric of this process (docs/OPERATIONS.md)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

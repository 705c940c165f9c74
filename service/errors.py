"""One place that maps errors to HTTP answers: 4xx with the field and the reason, never a traceback."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from knowledge.errors import StoreUnavailable

log = structlog.get_logger(__name__)


def _field(loc: tuple[int | str, ...]) -> str:
    # Drop the "body"/"query"/"path" prefix FastAPI adds, keep the rest as a dotted path.
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


async def _validation_failed(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field(tuple(e["loc"])), "reason": e["msg"]} for e in exc.errors()]
    return JSONResponse(status_code=422, content={"error": "invalid_request", "errors": errors})


async def _store_unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("store_unavailable", error=str(exc))
    return JSONResponse(status_code=503, content={"error": "store_unavailable", "reason": "try again shortly"})


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("request_failed", error_type=type(exc).__name__)
    return JSONResponse(status_code=500, content={"error": "internal_error"})


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(Exception, _unexpected)

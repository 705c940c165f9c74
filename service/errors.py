"""One place that maps errors to HTTP answers, in one shape, never with a traceback:

    {"error": "<kind>", "errors": [{"field": "<dotted path or empty>", "reason": "<why>"}]}

422 for a request that breaks the schema (each failing field), 404/405/... for HTTP errors raised by
the routers or the framework, 503 (with Retry-After) while the store is unavailable, 500 for the
unexpected (logged with its traceback, never shown).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from knowledge.errors import Overloaded, StoreUnavailable

log = structlog.get_logger(__name__)

RETRY_AFTER_S = 2


def error_body(kind: str, errors: list[dict[str, str]]) -> dict[str, Any]:
    """The body of every error answer."""
    return {"error": kind, "errors": errors}


def kind_of(status: int) -> str:
    """The `error` of an answer with this status: its HTTP name (RFC 9110's, where Python's is older)."""
    if status == 413:
        return "content_too_large"
    try:
        return HTTPStatus(status).name.lower()
    except ValueError:
        return "http_error"


def _field(loc: tuple[int | str, ...]) -> str:
    # Drop the "body"/"query"/"path" prefix FastAPI adds, keep the rest as a dotted path.
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


def _reason(error: Any) -> str:
    if error.get("type") == "json_invalid":  # the strict parser's own words (service/body.py)
        return str((error.get("ctx") or {}).get("error") or error["msg"])
    return str(error["msg"])


def validation_errors(errors: Any) -> list[dict[str, str]]:
    """pydantic/FastAPI errors as {field, reason} pairs."""
    found = []
    for e in errors:
        field = "body" if e.get("type") == "json_invalid" else _field(tuple(e["loc"]))
        found.append({"field": field, "reason": _reason(e)})
    return found


async def _validation_failed(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content=error_body("invalid_request", validation_errors(exc.errors())))


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if isinstance(detail, dict) and {"field", "reason"} <= detail.keys():
        errors = [{"field": str(detail["field"]), "reason": str(detail["reason"])}]
    else:
        errors = [{"field": "", "reason": str(detail)}]
    return JSONResponse(status_code=exc.status_code, content=error_body(kind_of(exc.status_code), errors),
                        headers=exc.headers)  # fmt: skip


async def _store_unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("store_unavailable", error=str(exc))
    return JSONResponse(
        status_code=503,
        content=error_body("store_unavailable", [{"field": "", "reason": "the store is unavailable; retry shortly"}]),
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _overloaded(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        status_code=503,
        content=error_body("overloaded", [{"field": "", "reason": str(exc)}]),
        headers={"Retry-After": "1"},
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("request_failed", error_type=type(exc).__name__)
    return JSONResponse(
        status_code=500, content=error_body("internal_error", [{"field": "", "reason": "an unexpected error"}])
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(Overloaded, _overloaded)
    app.add_exception_handler(Exception, _unexpected)

"""The analyst's page at `/` and its assets at `/ui/` (service/static/: plain ES modules and CSS, no
build step, nothing fetched from elsewhere). The page calls only the public API, with the caller's key."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC: Final = Path(__file__).resolve().parent.parent / "static"
#: The page runs only its own scripts and talks only to this service.
PAGE_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
#: Where the assets are served; open to all (they hold no data), like `/docs`.
ASSETS_PATH: Final = "/ui"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def page() -> FileResponse:
    """The page; its state (query, filters, open event, timeline) is in the query string."""
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=PAGE_HEADERS)


def install_page(app: FastAPI) -> None:
    """Serve the page and its assets."""
    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=STATIC), name="ui")

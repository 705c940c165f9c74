"""`POST /v1/notes` and `DELETE /v1/notes/{event_id}`: what agents remember (and forget).

Storing or forgetting a note needs the `write` scope; a rule (`metadata.category = "mechanics"`) needs
`admin`. Every write is logged with the key's name (and the request id) and counted by key.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field

from knowledge.metrics import AUTH_DECISIONS
from knowledge.notes import MAX_NOTE_CHARS, forget_note, is_rule, store_note
from service.auth import Scope
from service.body import StrictJsonRoute
from service.deps import RuntimeDep, Writer, refused

router = APIRouter(prefix="/v1", tags=["notes"], route_class=StrictJsonRoute)
log = structlog.get_logger(__name__)


class NoteRequest(BaseModel):
    """A note to store: the same text twice is one note."""

    information: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)
    metadata: dict[str, Any] = Field(default_factory=dict)


class NoteStored(BaseModel):
    event_id: str
    category: str


def _admin_only(principal: Any) -> None:
    if not principal.may(Scope.ADMIN):
        AUTH_DECISIONS.labels(principal.name, "403").inc()
        raise HTTPException(403, detail={"field": "metadata.category", "reason": refused(principal, Scope.ADMIN)})


@router.post("/notes", status_code=status.HTTP_201_CREATED)
async def create_note(note: NoteRequest, runtime: RuntimeDep, principal: Writer) -> NoteStored:
    """Store a note (or, with `metadata.category = "mechanics"`, a rule: admin only)."""
    if is_rule(note.metadata):
        _admin_only(principal)
    try:
        document = await store_note(runtime.embedder, runtime.store, note.information, note.metadata)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail={"field": "information", "reason": str(exc)}) from None
    AUTH_DECISIONS.labels(principal.name, "allowed").inc()
    log.info("rule_stored" if is_rule(note.metadata) else "note_stored", key=principal.name, event_id=document.event_id)
    return NoteStored(event_id=document.event_id, category=document.category.value)


@router.delete("/notes/{event_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_note(
    event_id: Annotated[str, Path(min_length=1, max_length=200)], runtime: RuntimeDep, principal: Writer
) -> None:
    """Forget a note (a rule: admin only); 404 if there is none with this id (game events cannot be deleted)."""
    outcome = await forget_note(runtime.store, event_id, rules=principal.may(Scope.ADMIN))
    if outcome == "rule":
        _admin_only(principal)
    if outcome == "absent":
        raise HTTPException(status_code=404, detail={"field": "event_id", "reason": "no note has this id"})
    AUTH_DECISIONS.labels(principal.name, "allowed").inc()
    log.info("note_forgotten", key=principal.name, event_id=event_id)

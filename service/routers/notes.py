"""`POST /v1/notes` and `DELETE /v1/notes/{event_id}`: what agents remember (and forget)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field

from knowledge.notes import MAX_NOTE_CHARS, forget_note, store_note
from service.body import StrictJsonRoute
from service.deps import RuntimeDep

router = APIRouter(prefix="/v1", tags=["notes"], route_class=StrictJsonRoute)


class NoteRequest(BaseModel):
    """A note to store: the same text twice is one note."""

    information: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)
    metadata: dict[str, Any] = Field(default_factory=dict)


class NoteStored(BaseModel):
    event_id: str
    category: str


@router.post("/notes", status_code=status.HTTP_201_CREATED)
async def create_note(note: NoteRequest, runtime: RuntimeDep) -> NoteStored:
    """Store a note (or, with `metadata.category = "mechanics"`, a rule)."""
    try:
        document = await store_note(runtime.embedder, runtime.store, note.information, note.metadata)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail={"field": "information", "reason": str(exc)}) from None
    return NoteStored(event_id=document.event_id, category=document.category.value)


@router.delete("/notes/{event_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_note(event_id: Annotated[str, Path(min_length=1, max_length=200)], runtime: RuntimeDep) -> None:
    """Forget a note or rule; 404 if there is none with this id (game events cannot be deleted)."""
    if not await forget_note(runtime.store, event_id):
        raise HTTPException(status_code=404, detail={"field": "event_id", "reason": "no note has this id"})

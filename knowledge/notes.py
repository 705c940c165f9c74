"""What agents store: notes (the `agent_note` category) and rules (`mechanics`).

A note's id derives from its text, so storing the same text twice keeps one note (the later
metadata wins). Only notes and rules can be forgotten: game events are history.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Final, Literal

from knowledge.embedder import Embedder
from knowledge.projector import point_id
from knowledge.sparse import bm25_of
from knowledge.store.base import KnowledgeStore
from schemas import limits
from schemas.documents import AgentNoteDocument, Category, DocumentBase, MechanicsDocument, unix_seconds

MAX_NOTE_CHARS: Final = 20_000
#: A note's metadata as JSON text, at most (beyond the depth and number limits of schemas/limits.py).
MAX_METADATA_BYTES: Final = 16_384
FORGETTABLE: Final = {Category.AGENT_NOTE.value, Category.MECHANICS.value}


def is_rule(metadata: dict[str, Any] | None) -> bool:
    """Whether a note with this metadata is a rule (`mechanics`), which only admins may write."""
    return bool(metadata) and metadata.get("category") == Category.MECHANICS.value  # type: ignore[union-attr]


def note_event_id(information: str) -> str:
    """`note:<sha256 of the stripped text>`."""
    return "note:" + hashlib.sha256(information.strip().encode("utf-8")).hexdigest()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v]
    return []


def project_note(information: str, metadata: dict[str, Any], now: datetime) -> DocumentBase:
    """The document of a note. Metadata may name `category` ("mechanics" for rules), `player_id`,
    `scholar_id`, `expedition_code` and `keywords`; everything in it is kept."""
    text = information.strip()
    if not text:
        raise ValueError("information must not be empty")
    limits.check(metadata, "metadata")  # UnsafeJson is a ValueError naming the path
    size = len(json.dumps(metadata, ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"metadata is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}")
    if len(text) > MAX_NOTE_CHARS:
        raise ValueError(f"information is {len(text)} characters; the limit is {MAX_NOTE_CHARS}")
    event_id = note_event_id(text)
    players, scholars = _strings(metadata.get("player_id")), _strings(metadata.get("scholar_id"))
    code = metadata.get("expedition_code")
    common: dict[str, Any] = {
        "id": point_id(event_id),
        "event_id": event_id,
        "subcategory": str(metadata.get("subcategory") or "note"),
        "title": text.splitlines()[0][:120],
        "content": text,
        "keywords": [k.lower() for k in _strings(metadata.get("keywords"))],
        "participants": players + scholars,
        "player_ids": players,
        "scholar_ids": scholars,
        "expedition_code": code if isinstance(code, str) and code else None,
        "occurred_at": now,
        "occurred_at_ts": unix_seconds(now),
    }
    if is_rule(metadata):
        return MechanicsDocument(action="mechanics", **common)
    return AgentNoteDocument(action="agent_note", metadata=metadata, **common)


async def store_note(
    embedder: Embedder, store: KnowledgeStore, information: str, metadata: dict[str, Any] | None = None
) -> DocumentBase:
    """Embed and store a note; return its document."""
    document = project_note(information, metadata or {}, datetime.now(UTC))
    [vector] = await embedder.embed_documents([document.embedding_text])
    sparse = bm25_of(document)
    await store.upsert([document], [vector], [sparse])
    return document


Forgot = Literal["forgot", "absent", "rule"]


async def forget_note(store: KnowledgeStore, event_id: str, *, rules: bool = True) -> Forgot:
    """Delete a note (or, with `rules`, a rule): "forgot"; "absent" when there is no note with this id
    (game events are never deleted); "rule" when it is a rule and `rules` is false."""
    found = await store.retrieve([point_id(event_id)])
    if found and found[0].get("category") in FORGETTABLE:
        if found[0].get("category") == Category.MECHANICS.value and not rules:
            return "rule"
        await store.delete([point_id(event_id)])
        return "forgot"
    # A note whose payload cannot be read (stored before the limits of schemas/limits.py) is known
    # by its id's form, and still exists if its vector does.
    if not found and event_id.startswith("note:") and await store.vector(point_id(event_id)) is not None:
        if not rules:
            return "rule"  # it cannot be told from a rule: only who may forget rules may forget it
        await store.delete([point_id(event_id)])
        return "forgot"
    return "absent"

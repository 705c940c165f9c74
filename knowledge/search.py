"""The read path: a query in words -> its vector -> the store -> hits. Used by the API and agent tools."""

from __future__ import annotations

from typing import Any

from knowledge.embedder import Embedder
from knowledge.projector import point_id
from knowledge.store.base import KnowledgeStore
from schemas.search import SearchHit, SearchRequest, SearchResponse, StoredDocument


def stored_document(payload: dict[str, Any]) -> StoredDocument:
    """A stored point's payload as the API shows it."""
    return StoredDocument(
        event_id=payload["event_id"],
        category=payload["category"],
        action=payload["action"],
        occurred_at=payload["occurred_at"],
        title=payload.get("title", ""),
        content=payload.get("content", ""),
        payload=payload.get("payload") or {},
        document=payload,
    )


async def search(embedder: Embedder, store: KnowledgeStore, request: SearchRequest) -> SearchResponse:
    """Semantic search with filters, best first."""
    vector = await embedder.embed_query(request.query)
    found = await store.search(vector, request.filters, request.top_k)
    hits = [SearchHit(score=f.score, **stored_document(f.payload).model_dump()) for f in found]
    return SearchResponse(query=request.query, hits=hits)


async def get_event(store: KnowledgeStore, event_id: str) -> StoredDocument | None:
    """The stored document of one event, if it is indexed."""
    payloads = await store.retrieve([point_id(event_id)])
    return stored_document(payloads[0]) if payloads else None

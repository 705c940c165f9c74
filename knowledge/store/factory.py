"""Open the store the settings name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from knowledge.settings import KnowledgeSettings
from knowledge.store.base import KnowledgeStore
from knowledge.store.qdrant_edge import QdrantEdgeStore
from knowledge.store.qdrant_server import QdrantServerStore


@asynccontextmanager
async def open_store(settings: KnowledgeSettings) -> AsyncIterator[KnowledgeStore]:
    """The configured store, closed on exit."""
    if settings.store_backend == "edge":
        async with QdrantEdgeStore.open(settings) as edge_store:
            yield edge_store
    else:
        async with QdrantServerStore.open(settings) as server_store:
            yield server_store

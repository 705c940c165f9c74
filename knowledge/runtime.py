"""Start-up of the shared parts: the model and the store, checked against each other."""

from __future__ import annotations

import asyncio
import functools
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from knowledge.embedder import FastembedEmbedder
from knowledge.model_files import DIM, MODEL_ID, VECTOR_NAME
from knowledge.settings import KnowledgeSettings
from knowledge.store.base import CollectionIdentity, KnowledgeStore
from knowledge.store.factory import open_store

#: The identity of collections written with the packaged model, known without loading it.
PACKAGED_MODEL_IDENTITY = CollectionIdentity(MODEL_ID, DIM, VECTOR_NAME)


def identity_of(embedder: FastembedEmbedder) -> CollectionIdentity:
    """The identity a collection must have to hold this embedder's vectors."""
    return CollectionIdentity(embedder.model_id, embedder.dim, embedder.vector_name)


@asynccontextmanager
async def open_knowledge(
    settings: KnowledgeSettings, embedder: FastembedEmbedder | None = None, *, answers_queries: bool = True
) -> AsyncIterator[tuple[FastembedEmbedder, KnowledgeStore]]:
    """The model (loaded off the loop) and the store (collection created or checked), closed on exit.
    A process that does not answer queries (the standalone consumer) loads no query session."""
    owned = embedder is None
    model = (
        embedder
        if embedder is not None
        else await asyncio.to_thread(functools.partial(FastembedEmbedder.load, settings, query_session=answers_queries))
    )
    try:
        async with open_store(settings) as store:
            await store.ensure_collection(identity_of(model))
            yield model, store
    finally:
        if owned:
            model.close()


def freeze_startup_objects() -> None:
    """Once a serving process has loaded what it keeps (the model, the libraries, the app), move those
    objects out of the garbage collector's sight (`gc.freeze`): each full collection then walks only
    what requests made, not everything loaded at start. With 8 clients searching, p99 went from about
    11x to about 6.5x the single client's (bench/load.py). Blocks for one collection: call it at start."""
    gc.collect()
    gc.freeze()

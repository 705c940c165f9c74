"""Start-up of the shared parts: the model and the store, checked against each other."""

from __future__ import annotations

import asyncio
import functools
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from knowledge.embedder import FastembedEmbedder
from knowledge.model_files import MODELS, Model
from knowledge.settings import KnowledgeSettings
from knowledge.store.base import CollectionIdentity, KnowledgeStore
from knowledge.store.factory import open_store

log = structlog.get_logger(__name__)


def identity_of(embedder: FastembedEmbedder) -> CollectionIdentity:
    """The identity a collection must have to hold this embedder's vectors."""
    return identity_for(embedder.spec)


def identity_for(model: Model) -> CollectionIdentity:
    """The identity of collections written with `model`, known without loading it."""
    return CollectionIdentity(model.id, model.dim, model.vector_name)


async def with_stored_model(settings: KnowledgeSettings, store: KnowledgeStore) -> KnowledgeSettings:
    """`settings`, with the model the store's collection was made with when EMBEDDING_MODEL is unset
    and that is one of ours: a collection made with all-MiniLM-L6-v2 (by an earlier version, or by
    mcp-server-qdrant with its defaults) goes on with it, a new one gets the default model. Set, the
    setting stands, and a collection of another model is refused when it is opened."""
    if settings.model_chosen:
        return settings
    stored = await store.stored_model()
    if stored is None or stored not in MODELS or stored == settings.embedding_model:
        return settings
    log.info("embedding_model_kept", model=stored, default=settings.embedding_model, hint="reindex to change it")
    return settings.model_copy(update={"embedding_model": stored})


@asynccontextmanager
async def open_knowledge(
    settings: KnowledgeSettings, embedder: FastembedEmbedder | None = None, *, answers_queries: bool = True
) -> AsyncIterator[tuple[FastembedEmbedder, KnowledgeStore]]:
    """The model (loaded off the loop; the collection's own when EMBEDDING_MODEL is unset,
    `with_stored_model`) and the store (collection created or checked), closed on exit. A process that
    does not answer queries (the standalone consumer) loads no query session."""
    async with open_store(settings) as store:
        if embedder is not None:
            await store.ensure_collection(identity_of(embedder))
            yield embedder, store
            return
        chosen = await with_stored_model(settings, store)
        load = functools.partial(FastembedEmbedder.load, chosen, query_session=answers_queries)
        model = await asyncio.to_thread(load)
        try:
            await store.ensure_collection(identity_of(model))
            yield model, store
        finally:
            model.close()


def freeze_startup_objects() -> None:
    """Once a serving process has loaded what it keeps (the model, the libraries, the app), move those
    objects out of the garbage collector's sight (`gc.freeze`): each full collection then walks only
    what requests made, not everything loaded at start. With 8 clients searching, p99 went from about
    11x to about 6.5x the single client's (bench/load.py). Blocks for one collection: call it at start."""
    gc.collect()
    gc.freeze()

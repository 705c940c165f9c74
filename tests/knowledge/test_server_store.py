"""The server store's start-up on the collections it meets, through qdrant-client's local mode (the
server code path; no Qdrant server binary can be had here, so the server's own answers, e.g. its 409
for a collection created meanwhile and its payload schema, are not covered)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from qdrant_client import AsyncQdrantClient, models

from knowledge.embedder import FastembedEmbedder
from knowledge.errors import ForeignCollection
from knowledge.projector import project
from knowledge.runtime import identity_of
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SPARSE_NAME, bm25_of, encoder
from knowledge.store.qdrant_server import QdrantServerStore
from schemas.events import GameEvent
from schemas.search import SearchFilters
from scripts.sample_season import season

NAME = "knowledge"


@pytest.fixture
async def client() -> AsyncIterator[AsyncQdrantClient]:
    opened = AsyncQdrantClient(location=":memory:")
    try:
        yield opened
    finally:
        await opened.close()


def bare_collection(embedder: FastembedEmbedder) -> dict[str, models.VectorParams]:
    """The dense vector mcp-server-qdrant makes (the same name and size as ours), nothing else."""
    return {embedder.vector_name: models.VectorParams(size=embedder.dim, distance=models.Distance.COSINE)}


async def test_a_collection_another_starter_made_meanwhile_is_taken_not_a_crash(
    client: AsyncQdrantClient, embedder: FastembedEmbedder
) -> None:
    """The API and the consumers start together: one of them creates the collection between another's
    check and its create. The loser's create is refused by the engine; it takes the collection."""
    first, second = QdrantServerStore(client, NAME, 10), QdrantServerStore(client, NAME, 10)
    await first.ensure_collection(identity_of(embedder))
    await second._create(identity_of(embedder))  # the create that lost the race: no exception
    await second.ensure_collection(identity_of(embedder))
    assert await second.count() == 0


async def test_a_collection_of_mcp_server_qdrant_is_refused_at_start_with_the_reason(
    client: AsyncQdrantClient, embedder: FastembedEmbedder
) -> None:
    await client.create_collection(NAME, vectors_config=bare_collection(embedder))
    vector = (await embedder.embed_documents(["Curators like tea."]))[0]
    point = models.PointStruct(id=1, vector={embedder.vector_name: vector},
                               payload={"document": "Curators like tea.", "metadata": {"by": "agent"}})  # fmt: skip
    await client.upsert(NAME, [point])
    with pytest.raises(ForeignCollection, match=r"did not write.*mcp-server-qdrant"):
        await QdrantServerStore(client, NAME, 10).ensure_collection(identity_of(embedder))


async def test_a_collection_made_before_keyword_search_gains_its_bm25_vector(
    client: AsyncQdrantClient, embedder: FastembedEmbedder
) -> None:
    await client.create_collection(NAME, vectors_config=bare_collection(embedder))
    store = QdrantServerStore(client, NAME, 10)
    await store.ensure_collection(identity_of(embedder))
    assert SPARSE_NAME in ((await client.get_collection(NAME)).config.params.sparse_vectors or {})
    documents = [project(GameEvent.model_validate(e)) for e in season(20, seed=5)]
    sparse = [bm25_of(d) for d in documents]
    await store.upsert(documents, await embedder.embed_documents([d.embedding_text for d in documents]), sparse)
    hits = await store.search(encoder().query(documents[0].title), SearchFilters(), 5)
    assert documents[0].event_id in {h.payload["event_id"] for h in hits}


async def test_cluster_settings_go_with_the_create(embedder: FastembedEmbedder) -> None:
    """Local mode takes them and keeps none (a server keeps them: not covered here)."""
    settings = KnowledgeSettings(qdrant_url=":memory:", collection_name=NAME, qdrant_shard_number=3,
                                 qdrant_replication_factor=2, qdrant_write_consistency_factor=2)  # fmt: skip
    assert settings.store_backend == "qdrant", "a Qdrant location alone selects the server store"
    async with QdrantServerStore.open(settings) as store:
        assert store._cluster == {"shard_number": 3, "replication_factor": 2, "write_consistency_factor": 2}
        await store.ensure_collection(identity_of(embedder))
    with pytest.raises(ValueError, match="cannot exceed"):
        KnowledgeSettings(qdrant_url=":memory:", qdrant_replication_factor=1, qdrant_write_consistency_factor=2)


def test_mcp_server_qdrants_settings_alone_select_the_server_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QDRANT_URL", "http://qdrant.example:6333")
    assert KnowledgeSettings().store_backend == "qdrant"
    monkeypatch.delenv("QDRANT_URL")
    monkeypatch.setenv("QDRANT_LOCAL_PATH", "/tmp/qdrant-local")
    assert KnowledgeSettings().store_backend == "qdrant"
    monkeypatch.setenv("STORE_BACKEND", "edge")  # an explicit choice stands
    assert KnowledgeSettings().store_backend == "edge"

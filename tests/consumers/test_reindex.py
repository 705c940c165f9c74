"""`reindex` on the embedded store: a new collection built from the topic while the old one keeps
answering, switched only when no process holds the old shard, and caught up with what arrived since."""

from __future__ import annotations

import pytest

from consumers.loop import ingest_loop
from consumers.reindex import reindex
from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.errors import ConfigurationError
from knowledge.model_files import BGE_SMALL, MINILM
from knowledge.runtime import identity_of
from knowledge.settings import KnowledgeSettings
from knowledge.store.qdrant_edge import QdrantEdgeStore
from scripts.sample_season import season
from tests.conftest import encode, produce


async def count(knowledge: KnowledgeSettings, embedder: FastembedEmbedder) -> int:
    async with QdrantEdgeStore.open(knowledge) as store:
        await store.ensure_collection(identity_of(embedder))
        return await store.count()


async def test_a_reindex_builds_beside_the_live_shard_and_switches_once_it_is_free(
    consumer_settings: ConsumerSettings, knowledge_settings: KnowledgeSettings, embedder: FastembedEmbedder
) -> None:
    events = list(season(60, seed=23))
    await produce(
        consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], [encode(e) for e in events[:40]]
    )
    old_shard = knowledge_settings.edge_path
    async with QdrantEdgeStore.open(knowledge_settings) as live:  # the service, holding its shard
        await live.ensure_collection(identity_of(embedder))
        async with ingest_loop(consumer_settings, embedder, live) as loop:
            await loop.run_until_idle()
        built = await reindex(knowledge_settings, consumer_settings, "rebuilt")
        assert not built.switched and built.documents == 40, "the live shard is held: no switch yet"
        assert knowledge_settings.edge_path == old_shard and await live.count() == 40, "searches stay on the old one"
        with pytest.raises(ConfigurationError, match="stop it"):
            await reindex(knowledge_settings, consumer_settings, "rebuilt", switch_only=True)
    more = [encode(e) for e in events[40:]]
    await produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], more)
    switched = await reindex(knowledge_settings, consumer_settings, "rebuilt", switch_only=True)
    assert switched.switched and switched.documents == 60, "caught up with what arrived since the build"
    assert knowledge_settings.edge_path.name == "rebuilt" != old_shard.name
    assert await count(knowledge_settings, embedder) == 60
    with pytest.raises(ConfigurationError, match="was built"):
        await reindex(knowledge_settings, consumer_settings, "never-built", switch_only=True)


async def test_a_reindex_keeps_the_collections_model_unless_another_is_asked_for(
    consumer_settings: ConsumerSettings, knowledge_settings: KnowledgeSettings
) -> None:
    """A collection of all-MiniLM-L6-v2 (an earlier version's): reindexed with EMBEDDING_MODEL unset it
    stays with that model; with EMBEDDING_MODEL set it moves to that one."""
    events = [encode(e) for e in season(20, seed=29)]
    await produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], events)
    earlier = FastembedEmbedder.load(knowledge_settings.model_copy(update={"embedding_model": MINILM.id}))
    try:
        async with QdrantEdgeStore.open(knowledge_settings) as live:
            await live.ensure_collection(identity_of(earlier))
            async with ingest_loop(consumer_settings, earlier, live) as loop:
                await loop.run_until_idle()
    finally:
        earlier.close()
    kept = await reindex(knowledge_settings, consumer_settings, "same-model")
    async with QdrantEdgeStore.open(knowledge_settings) as store:
        assert kept.switched and kept.documents == 20 and await store.stored_model() == MINILM.id
    asked = knowledge_settings.model_copy(update={"embedding_model": BGE_SMALL.id})
    moved = await reindex(asked, consumer_settings, "bge")
    async with QdrantEdgeStore.open(knowledge_settings) as store:
        assert moved.switched and moved.documents == 20 and await store.stored_model() == BGE_SMALL.id
        assert knowledge_settings.edge_path.name == "bge"


async def test_on_the_server_code_path_the_collection_name_becomes_an_alias_switched_at_once(
    consumer_settings: ConsumerSettings, knowledge_settings: KnowledgeSettings, embedder: FastembedEmbedder
) -> None:
    """qdrant-client's local mode runs the server code path (aliases included); no Qdrant server binary
    can be had here, so a switch while a service on another process keeps answering is not covered."""
    from knowledge.store.qdrant_server import QdrantServerStore

    knowledge = knowledge_settings.model_copy(
        update={"store_backend": "qdrant", "qdrant_local_path": knowledge_settings.data_dir / "local"}
    )
    events = [encode(e) for e in season(60, seed=29)]
    bootstrap, topic = consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0]

    async def live_ingest() -> int:  # the live consumer, writing through the collection's name
        async with QdrantServerStore.open(knowledge) as live:
            await live.ensure_collection(identity_of(embedder))
            async with ingest_loop(consumer_settings, embedder, live) as loop:
                await loop.run_until_idle()
            return await live.count()

    await produce(bootstrap, topic, events[:40])
    assert await live_ingest() == 40
    first = await reindex(knowledge, consumer_settings, "rebuilt")
    assert first.switched and first.documents == 40
    assert first.replaced == knowledge.collection_name, "the collection made before aliases gave way to the alias"
    await produce(bootstrap, topic, events[40:])
    assert await live_ingest() == 60, "the live consumer reads and writes through the alias"
    second = await reindex(knowledge, consumer_settings, "rebuilt-2")
    assert (second.switched, second.documents, second.replaced) == (True, 60, "rebuilt")
    async with QdrantServerStore.open(knowledge) as store:
        assert await store.is_alias() and await store.count() == 60
    with pytest.raises(ConfigurationError, match="own name"):
        await reindex(knowledge, consumer_settings, knowledge.collection_name)

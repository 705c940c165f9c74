"""`reindex` on the embedded store: a new collection built from the topic while the old one keeps
answering, switched only when no process holds the old shard, and caught up with what arrived since."""

from __future__ import annotations

import pytest

from consumers.loop import ingest_loop
from consumers.reindex import reindex
from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.errors import ConfigurationError
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

"""Rebuild the collection from the events topic into a new one, and switch to it only when complete:
for a new model (`EMBEDDING_MODEL=BAAI/bge-small-en-v1.5 greatwork reindex` moves a collection of
all-MiniLM-L6-v2 to the default model) or a new rendering (`greatwork reindex`).

The new collection is filled by the same pipeline as the live consumer (decode, project, embed,
upsert), in a consumer group of its own (`<KAFKA_GROUP_ID>.reindex.<name>`) that reads the topic from
its earliest retained record; its dead letters go to `<KAFKA_DLQ_TOPIC>.reindex`, so the live DLQ is not
doubled. Searches keep answering from the old collection meanwhile.

Embedded store (Qdrant Edge): the switch is the collection's alias file (`<collection>.alias`, read
when a process opens the store). A running service holds its shard and keeps it until restarted, and
would keep indexing into the old one; so the switch happens only while no process holds the old
shard: stop the service, and `greatwork reindex --switch NAME` reads what arrived since the build (the
same group, continued) and then switches; the service, started again, continues from its own
committed offsets into the new shard (what it re-reads overwrites itself).

Qdrant server: COLLECTION_NAME becomes an alias on the server, switched in one alias operation while
the service runs (every request names the alias, so the next one reads the new collection). The live
consumer writes into the old collection until the switch, so the reindex group catches up once more
after it. The old collection is kept for a rollback (`greatwork reindex --to OLD --switch`); delete it
when done. A collection made before aliases, under COLLECTION_NAME itself, is deleted at the switch
(Qdrant cannot rename a collection).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from consumers.loop import ingest_loop
from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.errors import ConfigurationError
from knowledge.runtime import open_knowledge, with_stored_model
from knowledge.settings import KnowledgeSettings
from knowledge.store.factory import open_store
from knowledge.store.qdrant_edge import shard_in_use, switch_alias
from knowledge.store.qdrant_server import QdrantServerStore


@dataclass(frozen=True)
class Reindexed:
    """What a reindex did."""

    collection: str
    documents: int
    dead_lettered: int
    switched: bool
    replaced: str | None = None  # the collection the alias served before (Qdrant server)


def new_name(knowledge: KnowledgeSettings) -> str:
    """`<collection>-<UTC timestamp>`."""
    return f"{knowledge.collection_name}-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}"


def _for(
    knowledge: KnowledgeSettings, consumer: ConsumerSettings, target: str
) -> tuple[KnowledgeSettings, ConsumerSettings]:
    group = f"{consumer.kafka_group_id}.reindex.{target}"
    return (
        knowledge.model_copy(update={"collection_name": target}),
        consumer.model_copy(update={"kafka_group_id": group, "kafka_transactional_id": group,
                                    "kafka_dlq_topic": f"{consumer.kafka_dlq_topic}.reindex"}),
    )  # fmt: skip


async def _is_alias(knowledge: KnowledgeSettings) -> bool:
    if knowledge.store_backend == "edge":
        return knowledge.edge_alias_file.is_file()
    async with QdrantServerStore.open(knowledge) as store:
        return await store.is_alias()


async def fill(
    knowledge: KnowledgeSettings, consumer: ConsumerSettings, target: str, model: FastembedEmbedder
) -> tuple[int, int]:
    """Index the topic into `target` until caught up; (documents in it, dead letters of this run)."""
    target_knowledge, target_consumer = _for(knowledge, consumer, target)
    if await _is_alias(target_knowledge):
        raise ConfigurationError(f"{target} is itself an alias; choose another name")
    async with (
        open_knowledge(target_knowledge, model) as (_, store),
        ingest_loop(target_consumer, model, store) as loop,
    ):
        await loop.run_until_idle()
        return await store.count(), loop.dead_lettered_total


async def _on_server(
    knowledge: KnowledgeSettings, consumer: ConsumerSettings, name: str, model: FastembedEmbedder
) -> Reindexed:
    documents, dead = await fill(knowledge, consumer, name, model)
    async with QdrantServerStore.open(knowledge) as alias:
        replaced = await alias.switch_alias(name)
    documents, more = await fill(knowledge, consumer, name, model)  # what the live consumer wrote meanwhile
    return Reindexed(name, documents, dead + more, switched=True, replaced=replaced)


async def _on_edge(
    knowledge: KnowledgeSettings, consumer: ConsumerSettings, name: str, model: FastembedEmbedder, switch_only: bool
) -> Reindexed:
    if switch_only and not _for(knowledge, consumer, name)[0].edge_path.exists():
        raise ConfigurationError(f"no collection {name} was built: run `greatwork reindex` first")
    documents, dead = await fill(knowledge, consumer, name, model)
    busy = await asyncio.to_thread(shard_in_use, knowledge.edge_path)
    if busy and switch_only:
        raise ConfigurationError("the service still holds the current shard: stop it, then switch")
    if not busy:
        documents, more = await fill(knowledge, consumer, name, model)  # what arrived meanwhile
        switch_alias(knowledge, name)
        dead += more
    return Reindexed(name, documents, dead, switched=not busy)


async def reindex(
    knowledge: KnowledgeSettings, consumer: ConsumerSettings, target: str | None = None, *, switch_only: bool = False
) -> Reindexed:
    """Build `target` from the topic and switch the collection to it: on a Qdrant server at once; on
    the embedded store if no process holds the current shard. `switch_only`: `target` was built before;
    catch it up and switch (embedded store: the service must be stopped). The new collection's model is
    EMBEDDING_MODEL's, or unset the current collection's (`with_stored_model`)."""
    name = target or new_name(knowledge)
    if name == knowledge.collection_name:
        raise ConfigurationError(f"{name} is the collection's own name; choose another")
    async with open_store(knowledge) as current:  # EMBEDDING_MODEL unset: the current collection's model
        chosen = await with_stored_model(knowledge, current)
    model = await asyncio.to_thread(FastembedEmbedder.load, chosen, query_session=False)
    try:
        if knowledge.store_backend == "edge":
            return await _on_edge(knowledge, consumer, name, model, switch_only)
        return await _on_server(knowledge, consumer, name, model)
    finally:
        model.close()

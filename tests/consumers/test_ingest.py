"""The vertical slice on real parts: Kafka broker, the real model, the real Qdrant engine."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from consumers.loop import IngestLoop, ingest_loop
from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.projector import point_id
from knowledge.search import get_event, search
from knowledge.store.base import KnowledgeStore
from schemas.dead_letter import HEADER_REASON, HEADER_SOURCE_OFFSET, HEADER_SOURCE_TOPIC
from schemas.documents import Category
from schemas.search import SearchFilters, SearchRequest
from scripts.sample_season import season
from tests.conftest import encode, produce, read_all, wait_until


async def committed_offsets(settings: ConsumerSettings) -> dict[int, int]:
    """The group's committed offset of each partition of the topic (0 when none)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=settings.kafka_group_id)
    await consumer.start()
    try:
        result = {}
        for partition in range(3):
            committed = await consumer.committed(TopicPartition(settings.topics[0], partition))
            result[partition] = committed or 0
        return result
    finally:
        await consumer.stop()


async def test_season_is_searchable_with_correct_payloads(
    consumer_settings: ConsumerSettings, embedder: FastembedEmbedder, store: KnowledgeStore
) -> None:
    events = list(season(300, seed=11))
    await produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], [encode(e) for e in events])

    async with ingest_loop(consumer_settings, embedder, store) as loop:
        await loop.run_until_idle()

    assert await store.count() == len(events)
    assert len({e["action"] for e in events}) >= 25
    for event in events[::7]:
        stored = await get_event(store, event["event_id"])
        assert stored is not None, event["event_id"]
        assert stored.payload == event["payload"]
        assert stored.action == event["action"]
        assert stored.document["source"]["topic"] == consumer_settings.topics[0]
    counts = Counter(e["action"] for e in events)
    press = await store.count(SearchFilters(action=["press_release"]))
    assert press == counts["press_release"]


async def test_query_finds_the_semantically_right_event_first(
    consumer_settings: ConsumerSettings, embedder: FastembedEmbedder, store: KnowledgeStore
) -> None:
    background = list(season(120, seed=5))
    target = {
        "event_id": "evt-target-defection",
        "action": "press_release",
        "occurred_at": "2025-03-09T10:00:00+00:00",
        "game_time": "Y57.D9",
        "payload": {
            "type": "defection_notice",
            "headline": "Renowned botanist abandons her patron",
            "body": "Professor Halloran left her long-time sponsor for a foreign government, citing unpaid wages.",
            "metadata": {"scholar": "s.halloran", "former_employer": "p.ada", "new_faction": "foreign"},
        },
    }
    await produce(
        consumer_settings.kafka_bootstrap_servers,
        consumer_settings.topics[0],
        [encode(e) for e in [*background[:60], target, *background[60:]]],
    )
    async with ingest_loop(consumer_settings, embedder, store) as loop:
        await loop.run_until_idle()

    response = await search(
        embedder, store, SearchRequest(query="which scholar deserted her sponsor to work abroad?", top_k=5)
    )
    assert response.hits[0].event_id == "evt-target-defection"
    assert response.hits[0].score > response.hits[1].score

    filtered = await search(
        embedder,
        store,
        SearchRequest(
            query="scholar leaves",
            top_k=5,
            filters=SearchFilters(scholar_id="s.halloran", category=[Category.PRESS]),
        ),
    )
    assert "evt-target-defection" in [h.event_id for h in filtered.hits]
    assert all("s.halloran" in h.document["scholar_ids"] for h in filtered.hits)


class _CrashBeforeCommit(Exception):
    """Stands for a process that dies after its upsert and before its commit."""


async def test_redelivery_after_a_crash_before_commit_creates_no_duplicates(
    consumer_settings: ConsumerSettings, embedder: FastembedEmbedder, store: KnowledgeStore
) -> None:
    events = list(season(150, seed=23))
    await produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], [encode(e) for e in events])

    # First consumer: stores batches, then "dies" before committing (its commit raises).
    async with ingest_loop(consumer_settings, embedder, store) as first:

        async def crash(_: Any) -> None:
            raise _CrashBeforeCommit

        first._commit = crash  # type: ignore[method-assign]  # fault injection: the real store and broker stay real
        with contextlib.suppress(_CrashBeforeCommit):
            await first.run_until_idle()
    stored_before = await store.count()
    assert stored_before > 0
    assert sum((await committed_offsets(consumer_settings)).values()) == 0

    # The restarted consumer in the same group gets everything again: every point is overwritten in place.
    async with ingest_loop(consumer_settings, embedder, store) as second:
        await second.run_until_idle()
    assert await store.count() == len(events)
    assert sum((await committed_offsets(consumer_settings)).values()) == len(events)
    assert len(await store.retrieve([point_id(e["event_id"]) for e in events])) == len(events)


async def test_malformed_messages_go_to_the_dlq_and_valid_ones_around_them_are_indexed(
    consumer_settings: ConsumerSettings, embedder: FastembedEmbedder, store: KnowledgeStore
) -> None:
    good = list(season(40, seed=3))
    bad: list[tuple[bytes | None, bytes | None]] = [
        (b"k1", b"{not json"),
        (b"k2", b"\xff\xfe\x00garbage"),
        (b"k3", json.dumps({"event_id": "x1", "action": "launch_expedition", "payload": {}}).encode()),
        (
            b"k4",
            json.dumps(
                {
                    "event_id": "x2",
                    "action": "expedition_resolved",
                    "occurred_at": "2025-03-01T00:00:00Z",
                    "payload": {"code": "FD-001", "player": "p.ada", "result": "success", "roll": "high"},
                }
            ).encode(),
        ),
    ]
    records = [encode(e) for e in good[:20]] + bad + [encode(e) for e in good[20:]]
    await produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], records)

    async with ingest_loop(consumer_settings, embedder, store) as loop:
        await loop.run_until_idle()

    assert await store.count() == len(good)
    letters = await read_all(consumer_settings.kafka_bootstrap_servers, consumer_settings.kafka_dlq_topic, len(bad))
    assert len(letters) == len(bad)
    by_value = {r.value: dict(r.headers) for r in letters}
    assert by_value[b"{not json"][HEADER_REASON] == b"invalid_json"
    assert by_value[b"\xff\xfe\x00garbage"][HEADER_REASON] == b"invalid_utf8"
    missing = by_value[bad[2][1]]
    assert missing[HEADER_REASON] == b"schema_violation"
    assert b"occurred_at" in missing["x-dlq-detail"]
    wrong_type = by_value[bad[3][1]]
    assert b"payload.roll" in wrong_type["x-dlq-detail"]
    for headers in by_value.values():
        assert headers[HEADER_SOURCE_TOPIC] == consumer_settings.topics[0].encode()
        assert int(headers[HEADER_SOURCE_OFFSET]) >= 0
    assert sum((await committed_offsets(consumer_settings)).values()) == len(records)


async def test_shutdown_commits_exactly_what_was_indexed(
    consumer_settings: ConsumerSettings, embedder: FastembedEmbedder, store: KnowledgeStore
) -> None:
    settings = consumer_settings.model_copy(update={"consumer_max_batch": 16})
    events = list(season(400, seed=31))
    await produce(settings.kafka_bootstrap_servers, settings.topics[0], [encode(e) for e in events])

    stop = asyncio.Event()
    async with ingest_loop(settings, embedder, store) as loop:
        task = asyncio.create_task(loop.run(stop))

        async def some_indexed() -> bool:
            return loop.indexed_total >= 48

        await wait_until(some_indexed, 60, "the first batches")
        stop.set()
        async with asyncio.timeout(30):
            await task
        indexed = loop.indexed_total
    assert 48 <= indexed < len(events), "stop arrived mid-stream"

    committed = await committed_offsets(settings)
    assert sum(committed.values()) == indexed == await store.count()
    # Per partition: the stored events are exactly the committed prefix.
    stored = await store.retrieve([point_id(e["event_id"]) for e in events])
    per_partition = Counter(p["source"]["partition"] for p in stored)
    for partition, offset in committed.items():
        assert per_partition[partition] == offset
        if offset:
            assert max(p["source"]["offset"] for p in stored if p["source"]["partition"] == partition) == offset - 1


async def test_ingest_loop_reports_idle_only_when_caught_up(
    consumer_settings: ConsumerSettings, embedder: FastembedEmbedder, store: KnowledgeStore
) -> None:
    async with ingest_loop(consumer_settings, embedder, store) as loop:
        assert isinstance(loop, IngestLoop)
        await produce(
            consumer_settings.kafka_bootstrap_servers,
            consumer_settings.topics[0],
            [encode(e) for e in season(10, 2)],
        )
        await loop.run_until_idle()
        assert loop.indexed_total == 10

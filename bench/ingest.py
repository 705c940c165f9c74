"""Ingest benchmarks, all in one run on one machine so the ratios hold:

1. R: fastembed alone on the benchmark texts (plain batches, run side by side on the embedder's
   model-call threads, as ingest runs them), and throughput against batch size;
2. end-to-end ingest: N events produced to Kafka, time until every one is stored (searchable);
3. today's path: embed one text, upsert one point, per event, on the same events and store type;
4. freshness: produce at about half the measured ingest rate; produce -> searchable p50/p95/p99;
5. peak RSS of this process (model + consumer + embedded store) during ingest.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.report import peak_rss_mb, percentiles
from consumers.loop import ingest_loop
from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.projector import project
from knowledge.runtime import identity_of
from knowledge.settings import KnowledgeSettings
from knowledge.store.qdrant_edge import QdrantEdgeStore
from schemas.documents import DocumentBase
from schemas.events import GameEvent
from scripts.sample_season import key_of, season

ROOT = Path(__file__).resolve().parent.parent


def _texts(events: list[dict[str, Any]]) -> list[str]:
    return [project(GameEvent.model_validate(e)).embedding_text for e in events]


def model_throughput(model: FastembedEmbedder, texts: list[str], batch_sizes: list[int]) -> dict[str, Any]:
    """Texts/s by batch size, plain and through the service's embedder (deduplicated; the key keeps its name
    from when the embedder also sorted by length); R is the best plain batch size over all texts."""
    raw = model._model
    list(raw.embed(texts[:16], batch_size=16))  # warm-up
    curve = []
    sample = texts[:256]
    for size in batch_sizes:
        started = time.perf_counter()
        _plain(model, sample, size)
        plain = len(sample) / (time.perf_counter() - started)
        fresh = FastembedEmbedder(raw, batch_size=size, cache_size=0, workers=model.workers)
        started = time.perf_counter()
        fresh.embed_sync(sample)
        ours = len(sample) / (time.perf_counter() - started)
        fresh.close()
        curve.append(
            {"batch_size": size, "plain_texts_per_s": round(plain, 1), "sorted_dedup_texts_per_s": round(ours, 1)}
        )
    best = int(max(curve, key=lambda row: row["plain_texts_per_s"])["batch_size"])
    started = time.perf_counter()
    _plain(model, texts, best)
    r = len(texts) / (time.perf_counter() - started)
    return {"R_texts_per_s": round(r, 1), "R_batch_size": best, "texts": len(texts), "unique_texts": len(set(texts)),
            "by_batch_size": curve}  # fmt: skip


def _plain(model: FastembedEmbedder, texts: list[str], size: int) -> None:
    """The texts in batches of `size` as they come (not sorted, not deduplicated), on the model's threads."""
    batches = [texts[i : i + size] for i in range(0, len(texts), size)]
    with ThreadPoolExecutor(model.workers) as threads:
        list(threads.map(lambda batch: list(model._model.embed(batch, batch_size=size)), batches))


async def _new_topic(bootstrap: str) -> str:
    name = f"bench.events.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 3, 1), NewTopic(name + ".dlq", 1, 1)])
    finally:
        await admin.close()
    return name


async def produce_events(
    bootstrap: str, topic: str, events: list[dict[str, Any]], rate_per_s: float | None = None
) -> None:
    """Send `events` keyed as the game's entities are (at `rate_per_s`, or as fast as possible)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = []
        for i, event in enumerate(events):
            if rate_per_s:
                delay = started + i / rate_per_s - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            futures.append(await producer.send(topic, json.dumps(event).encode(), key=key_of(event).encode()))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def _consumer_settings(bootstrap: str, topic: str) -> ConsumerSettings:
    """The product's defaults (batch size, poll) on a topic of the bench's own."""
    return ConsumerSettings(
        kafka_bootstrap_servers=bootstrap, kafka_topics=topic, kafka_dlq_topic=topic + ".dlq",
        kafka_group_id=f"bench-{uuid.uuid4().hex[:8]}", kafka_create_topics=False,
    )  # fmt: skip


async def end_to_end(
    model: FastembedEmbedder, bootstrap: str, data_dir: Path, events: list[dict[str, Any]]
) -> dict[str, Any]:
    """Produce every event first, then run the real consumer process (`python -m consumers`, embedded
    store) until all are committed; its peak RSS is the service's memory during ingest."""
    topic = await _new_topic(bootstrap)
    await produce_events(bootstrap, topic, events)
    settings = _consumer_settings(bootstrap, topic)
    collection = f"ingest-{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPICS": topic,
        "KAFKA_DLQ_TOPIC": topic + ".dlq",
        "KAFKA_GROUP_ID": settings.kafka_group_id,
        "KAFKA_TRANSACTIONAL_ID": f"tx-{collection}",
        "DATA_DIR": str(data_dir),
        "COLLECTION_NAME": collection,
        "METRICS_PORT": "0",
        "LOG_LEVEL": "WARNING",
    }
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "consumers", cwd=ROOT, env=env)
    first: tuple[float, int] | None = None  # the first commit seen: the model is loaded, the group joined
    try:
        async with asyncio.timeout(1800), _committed_offsets(settings) as committed:
            while (done := await committed()) < len(events):
                if process.returncode is not None:
                    raise RuntimeError("the consumer process exited")
                if first is None and done > 0:
                    first = (time.perf_counter(), done)
                await asyncio.sleep(0.2)
        finished = time.perf_counter()
        rss = peak_rss_mb(process.pid)
    finally:
        process.terminate()
        await process.wait()
    async with QdrantEdgeStore.open(KnowledgeSettings(data_dir=data_dir, collection_name=collection)) as store:
        await store.ensure_collection(identity_of(model))
        stored = await store.count()
    first_at, first_done = first if first is not None else (started, 0)
    steady = (len(events) - first_done) / (finished - first_at)
    return {"events": len(events), "stored": stored, "seconds": round(finished - started, 2),
            "events_per_s": round(steady, 1),
            "events_per_s_with_startup": round(len(events) / (finished - started), 1), "peak_rss_mb": rss,
            "note": "events_per_s: from the first commit to the last (R and today's path exclude start-up too);"
                    " with_startup: from process start (model load, group join) to the last commit"}  # fmt: skip


@asynccontextmanager
async def _committed_offsets(settings: ConsumerSettings) -> AsyncIterator[Callable[[], Awaitable[int]]]:
    """One reader of the group's committed offsets (not a member of the group), for polling."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=settings.kafka_group_id)
    await consumer.start()

    async def committed() -> int:
        partitions = [TopicPartition(settings.topics[0], p) for p in range(3)]
        return sum([await consumer.committed(tp) or 0 for tp in partitions])

    try:
        yield committed
    finally:
        await consumer.stop()


async def todays_path(model: FastembedEmbedder, data_dir: Path, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Per event: project, embed its one text, upsert its one point (mcp-server-qdrant's qdrant-store, whose
    fastembed session runs each call on every core, its products in float32)."""
    every_core = KnowledgeSettings(data_dir=data_dir / "float-model", embed_threads=None, embed_workers=1)
    loaded = await asyncio.to_thread(FastembedEmbedder.load, every_core, query_session=False, integer=False)
    embedder = FastembedEmbedder(loaded._model, batch_size=1, cache_size=0)
    settings = KnowledgeSettings(data_dir=data_dir, collection_name=f"today-{uuid.uuid4().hex[:6]}")
    async with QdrantEdgeStore.open(settings) as store:
        await store.ensure_collection(identity_of(model))
        started = time.perf_counter()
        for event in events:
            document = project(GameEvent.model_validate(event))
            [vector] = await embedder.embed_documents([document.content])
            await store.upsert([document], [vector])
        elapsed = time.perf_counter() - started
    embedder.close()
    loaded.close()
    return {"events": len(events), "seconds": round(elapsed, 2), "events_per_s": round(len(events) / elapsed, 1)}


async def freshness(
    model: FastembedEmbedder, bootstrap: str, data_dir: Path, events: list[dict[str, Any]], rate_per_s: float
) -> dict[str, Any]:
    """Produce at a steady rate while the consumer runs; time from the record's timestamp to stored."""
    topic = await _new_topic(bootstrap)
    embedder = FastembedEmbedder(model._model, batch_size=KnowledgeSettings().embed_batch_size, workers=model.workers)
    settings = KnowledgeSettings(data_dir=data_dir, collection_name=f"fresh-{uuid.uuid4().hex[:6]}")
    delays: list[float] = []
    all_indexed = asyncio.Event()

    async def on_indexed(documents: Any, _vectors: Any) -> None:
        now_ms = time.time() * 1000
        delays.extend((now_ms - stamp) / 1000 for d in documents if (stamp := _timestamp(d)) is not None)
        if len(delays) >= len(events):
            all_indexed.set()

    async with QdrantEdgeStore.open(settings) as store:
        await store.ensure_collection(identity_of(model))
        stop = asyncio.Event()
        async with ingest_loop(_consumer_settings(bootstrap, topic), embedder, store, on_indexed) as loop:
            task = asyncio.create_task(loop.run(stop))
            await _joined(loop.consumer, timeout_s=30)  # before the first record is produced
            await produce_events(bootstrap, topic, events, rate_per_s)
            async with asyncio.timeout(120):
                await all_indexed.wait()
            stop.set()
            await task
    return {"events": len(events), "rate_per_s": round(rate_per_s, 1), **percentiles(delays), "samples": len(delays),
            "delays_s": [round(d, 4) for d in delays]}  # fmt: skip


async def _joined(consumer: Any, timeout_s: float) -> None:
    """Return once the group consumer has partitions."""
    async with asyncio.timeout(timeout_s):
        while True:
            if consumer.assignment():
                return
            await asyncio.sleep(0.05)


def _timestamp(document: DocumentBase) -> int | None:
    return document.source.timestamp_ms if document.source else None


async def run(model: FastembedEmbedder, bootstrap: str, data_dir: Path, sizes: dict[str, Any]) -> dict[str, Any]:
    """Every ingest measurement, in order; returns the results."""
    events = list(season(sizes["ingest_events"], seed=2024))
    texts = _texts(events[: sizes["model_texts"]])
    throughput = model_throughput(model, texts, [1, 8, 16, 32, 64, 128, 256])
    ours = await end_to_end(model, bootstrap, data_dir, events)
    today = await todays_path(model, data_dir, events[: sizes["todays_path_events"]])
    fresh_events = list(season(sizes["freshness_events"], seed=77))
    fresh = await freshness(model, bootstrap, data_dir, fresh_events, rate_per_s=ours["events_per_s"] / 2)
    return {
        "model": throughput,
        "end_to_end": ours,
        "todays_path": today,
        "freshness": fresh,
        "ratios": {
            "ingest_over_R": round(ours["events_per_s"] / throughput["R_texts_per_s"], 2),
            "ingest_over_todays_path": round(ours["events_per_s"] / today["events_per_s"], 2),
        },
    }

"""`python -m bench.bridge`: the real game's way in, measured (not a test). In one run on one machine:

1. R: fastembed alone on the dev season's own texts (the best plain batch size);
2. backfill end to end: a copy of the dev season's database -> the bridge -> Kafka -> the consumer ->
   the embedded store, from the bridge's start until every row is stored (rows/s, and as a ratio of R);
3. tail latency: the game writes new rows (one transaction each, about 4 per second) while the bridge
   tails and the consumer runs; from each row's commit to the moment its document is stored, p50/p99.

Writes bench/results/<date>/bridge.json and prints a table. Needs the repo's broker
(`KAFKA_BOOTSTRAP_SERVERS`, as scripts/bench.sh sets it) and ../shared/dev-season/great_work.db.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.ingest import model_throughput
from bench.report import RESULTS, peak_rss_mb, percentiles, table, write
from bridge.database import GameDatabase
from bridge.history import records
from bridge.publisher import Bridge
from consumers.decoding import decode_event
from consumers.loop import ingest_loop
from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.projector import project
from knowledge.runtime import identity_of
from knowledge.settings import KnowledgeSettings
from knowledge.store.qdrant_edge import QdrantEdgeStore
from schemas.documents import DocumentBase
from scripts.dev_season import DEV_SEASON


def season_texts(database: GameDatabase, limit: int) -> list[str]:
    """The embedding texts of the season's first rows, as the consumer would make them."""
    return [project(decode_event(value, 10**7)).embedding_text for value in records(database, limit // 2)]


async def _topic(bootstrap: str) -> str:
    name = f"bench.bridge.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 3, 1), NewTopic(name + ".dlq", 1, 1), NewTopic(name + ".idx", 1, 1)])
    finally:
        await admin.close()
    return name


def _write_rows(db: Path, count: int, rate_per_s: float, committed: dict[int, float]) -> None:
    """The game writing `count` new actions, one transaction each: the commit time of each row id."""
    with closing(sqlite3.connect(db)) as source:
        samples = source.execute("SELECT action, payload FROM events ORDER BY id LIMIT ?", (count,)).fetchall()
    for action, payload in samples:
        with closing(sqlite3.connect(db)) as game:
            cursor = game.execute("INSERT INTO events (timestamp, action, payload) VALUES (?, ?, ?)",
                                  ("2025-10-15T12:00:00+00:00", action, payload))  # fmt: skip
            game.commit()
            committed[int(cursor.lastrowid or 0)] = time.time()
        time.sleep(1 / rate_per_s)


async def run(bootstrap: str, tail_rows: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
    db = work / "great_work.db"
    shutil.copyfile(DEV_SEASON, db)
    db.chmod(0o644)
    database = GameDatabase(db, 2000)
    knowledge = KnowledgeSettings(data_dir=work / "data", collection_name="bridge-bench")
    model = FastembedEmbedder.load(knowledge, query_session=False)
    r = model_throughput(model, season_texts(database, 2000), [1, 8, 32])
    rows = sum(database.last_ids().values())
    topic = await _topic(bootstrap)
    settings = ConsumerSettings(kafka_bootstrap_servers=bootstrap, kafka_topics=topic, kafka_dlq_topic=topic + ".dlq",
                                kafka_indexed_topic=topic + ".idx", kafka_group_id=f"g-{topic}",
                                kafka_transactional_id=f"tx-{topic}", kafka_create_topics=False)  # fmt: skip
    stored_at: dict[str, float] = {}
    batch_stored = asyncio.Event()

    async def indexed(documents: Sequence[DocumentBase], _: Sequence[list[float]]) -> None:
        now = time.time()
        for document in documents:
            stored_at.setdefault(document.event_id, now)
        batch_stored.set()

    async def until(done: Callable[[], bool]) -> None:
        while not done():
            batch_stored.clear()
            await batch_stored.wait()

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=10)
    await producer.start()
    stop = asyncio.Event()
    try:
        async with QdrantEdgeStore.open(knowledge) as store:
            await store.ensure_collection(identity_of(model))
            async with ingest_loop(settings, model, store, on_indexed=indexed) as loop:
                consuming = asyncio.create_task(loop.run(stop))
                bridge = Bridge(database, producer, topic, work / "state.json", 500, 0.25)
                started = time.perf_counter()
                bridging = asyncio.create_task(bridge.run(stop))
                await until(lambda: len(stored_at) >= rows)
                backfill_s = time.perf_counter() - started
                committed: dict[int, float] = {}
                await asyncio.to_thread(_write_rows, db, tail_rows, 4.0, committed)
                await until(lambda: all(f"events:{i}" in stored_at for i in committed))
                rss = peak_rss_mb()
                stop.set()
                await asyncio.gather(consuming, bridging)
    finally:
        await producer.stop()
    latencies = [stored_at[f"events:{i}"] - at for i, at in committed.items()]
    shutil.rmtree(work, ignore_errors=True)
    rate = rows / backfill_s
    return {
        "R": r,
        "backfill": {"rows": rows, "seconds": round(backfill_s, 1), "rows_per_s": round(rate, 1),
                     "ratio_to_R": round(rate / r["R_texts_per_s"], 2), "peak_rss_mb": rss},
        "tail": {"rows": len(latencies), "rate_per_s": 4.0, **percentiles(latencies)},
        "note": "backfill: from the bridge's start to the last row stored (model loaded, group joined before); "
                "tail: from the row's commit in the game's database to its document stored",
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--tail-rows", type=int, default=120)
    args = parser.parse_args()
    results = asyncio.run(run(args.bootstrap, args.tail_rows))
    path = write("bridge", results, RESULTS / datetime.now(UTC).strftime("%Y-%m-%d"))
    print(table("R: fastembed alone on the dev season's texts", [{k: v for k, v in results["R"].items()
                                                                  if k != "by_batch_size"}]))  # fmt: skip
    print(table("Backfill of the dev season, end to end", [results["backfill"]]))
    print(table("Tail: row committed -> document stored", [results["tail"]]))
    print(f"written to {path}")


if __name__ == "__main__":
    main()

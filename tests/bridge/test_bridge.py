"""The bridge on real SQLite files with the game's schema (the dev season, written by the game itself,
and files this test writes the way the game does), publishing to the real broker."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bridge import checkpoint
from bridge.database import GameDatabase
from bridge.publisher import Bridge
from consumers.decoding import decode_event
from consumers.loop import ingest_loop
from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.projector import point_id
from knowledge.settings import KnowledgeSettings
from tests.bridge.gamedb import copy_dev_season, count, empty_game_db, season_rows, write_event, write_press
from tests.conftest import ROOT, free_port, wait_for, wait_until
from tests.faults.test_faults import edge_store


async def new_topic(bootstrap: str, partitions: int = 3) -> str:
    name = f"bridge.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1), NewTopic(name + ".dlq", 1, 1)])
    finally:
        await admin.close()
    return name


@asynccontextmanager
async def producer_for(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=10)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, idle_s: float = 2.0) -> list[Any]:
    """Every record of `topic`, read until nothing new came for `idle_s`."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    records: list[Any] = []
    try:
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < idle_s:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            got = [r for rs in batch.values() for r in rs]
            if got:
                records += got
                quiet_since = time.monotonic()
    finally:
        await consumer.stop()
    return records


def envelope(record: Any) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(record.value)
    return value


async def test_the_dev_season_is_published_once_per_row_with_stable_ids_years_names_and_spread_keys(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    db = copy_dev_season(tmp_path / "great_work.db")
    topic = await new_topic(kafka_bootstrap)
    state = tmp_path / "state.json"
    async with producer_for(kafka_bootstrap) as producer:
        bridge = Bridge(GameDatabase(db, 2000), producer, topic, state, page_rows=500, poll_s=0.1)
        position = await bridge.run(asyncio.Event(), until_caught_up=True)
    records = await read_topic(kafka_bootstrap, topic)
    envelopes = [envelope(r) for r in records]
    ids = Counter(e["event_id"] for e in envelopes)
    events, press = count(db, "events"), count(db, "press_releases")
    assert position == {"events": events, "press_releases": press} == checkpoint.load(state)
    assert len(records) == events + press == len(ids), "every row exactly once"
    assert set(ids) == {f"events:{i}" for i in range(1, events + 1)} | {
        f"press_releases:{i}" for i in range(1, press + 1)
    }
    by_id = {e["event_id"]: e for e in envelopes}
    assert by_id["events:1"]["names"] == {"s.proc-001": "Dr Elara Blackstone"}
    assert by_id["events:1"]["game_time"] == "Y1920"
    assert by_id["events:219"]["action"] == "timeline_advanced" and by_id["events:219"]["game_time"] == "Y1921"
    assert by_id[f"events:{events}"]["game_time"] == "Y1964"
    assert by_id["press_releases:1"]["action"] == "press_release"
    assert by_id["press_releases:1"]["payload"]["headline"] == "Administrative Influence Adjustment"
    # a negotiation's result and a counter-offer name only offer ids: the bridge says whose they are, as
    # the game's own press about the offer does ("Poaching Attempt: lenka_h Targets ...": its metadata)
    offers = {
        e["payload"]["metadata"]["offer_id"]: e["payload"]["metadata"]
        for e in envelopes
        if e["action"] == "press_release"
        and e["payload"]["type"] == "negotiation"
        and "rival" in e["payload"]["metadata"]
    }
    about = [e for e in envelopes if e["action"] in ("negotiation_resolved", "counter_offer_created")]
    assert about and all(e.get("parties") for e in about)
    for e in about:
        payload = e["payload"]
        first = payload["offer_chain"][0] if e["action"] == "negotiation_resolved" else payload["original_offer_id"]
        told = offers[first]
        assert e["parties"] == {"scholar": told["scholar"], "rival": told["rival"], "patron": told["patron"]}, e
        assert told["scholar"] in e["names"], "the scholar is named in words too"
    keys = Counter(r.key for r in records)
    assert keys.most_common(1)[0][1] < 0.05 * len(records), f"hot key: {keys.most_common(3)}"
    partitions = Counter(r.partition for r in records)
    assert min(partitions.values()) > 0.2 * len(records), partitions
    refused = []
    for record in records:  # the consumer's own decoder accepts every row the game wrote
        try:
            decode_event(record.value, 1_000_000)
        except Exception as exc:
            refused.append((envelope(record)["event_id"], envelope(record)["action"], str(exc)[:200]))
    assert not refused, refused[:5]


async def test_tail_publishes_what_the_game_writes_while_it_runs_in_order_per_key(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    db = empty_game_db(tmp_path / "great_work.db", players=6, scholars=30)
    events, press = season_rows(300)
    topic = await new_topic(kafka_bootstrap)
    stop = asyncio.Event()

    def game() -> None:  # the game: one connection, one insert, one commit per action
        for i in range(300):
            write_event(db, *events[i])
            write_press(db, press[i])
            if i % 25 == 0:
                time.sleep(0.05)

    async with producer_for(kafka_bootstrap) as producer:
        bridge = Bridge(GameDatabase(db, 2000), producer, topic, tmp_path / "state.json", page_rows=37, poll_s=0.05)
        running = asyncio.create_task(bridge.run(stop))
        await asyncio.to_thread(game)

        async def caught_up() -> bool:
            return checkpoint.load(tmp_path / "state.json") == {"events": 300, "press_releases": 300}

        await wait_until(caught_up, 60, "the bridge to publish every row")
        stop.set()
        await asyncio.wait_for(running, 30)
    records = await read_topic(kafka_bootstrap, topic)
    ids = Counter(envelope(r)["event_id"] for r in records)
    assert len(records) == 600 and set(ids.values()) == {1}, "nothing missed, nothing duplicated"
    last: dict[tuple[bytes, str], int] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        table, row_id = envelope(record)["event_id"].split(":")
        assert last.get((record.key, table), 0) < int(row_id), "order per key kept"
        last[(record.key, table)] = int(row_id)


async def test_a_locked_database_delays_the_bridge_but_never_stops_it(kafka_bootstrap: str, tmp_path: Path) -> None:
    db = empty_game_db(tmp_path / "great_work.db", players=6)
    topic = await new_topic(kafka_bootstrap)
    write_event(db, "2025-09-01T06:00:00+00:00", "game_paused", {"reason": "LLM outage", "source": "llm"})
    stop = asyncio.Event()
    async with producer_for(kafka_bootstrap) as producer:
        bridge = Bridge(GameDatabase(db, 200), producer, topic, tmp_path / "state.json", page_rows=10, poll_s=0.05)
        running = asyncio.create_task(bridge.run(stop))

        def hold_the_lock() -> None:  # a writer holding an exclusive transaction for 2 s
            with closing(sqlite3.connect(db, timeout=5)) as writer:
                writer.execute("BEGIN EXCLUSIVE")
                writer.execute("INSERT INTO events (timestamp, action, payload) VALUES (?, ?, ?)",
                               ("2025-09-01T07:00:00+00:00", "game_resumed", '{"was_paused": true}'))  # fmt: skip
                time.sleep(2)
                writer.commit()

        await asyncio.to_thread(hold_the_lock)

        async def both() -> bool:
            return checkpoint.load(tmp_path / "state.json")["events"] == 2

        await wait_until(both, 30, "the rows written under the lock")
        assert not running.done(), "the bridge kept running"
        stop.set()
        await asyncio.wait_for(running, 30)
    records = await read_topic(kafka_bootstrap, topic)
    assert sorted(envelope(r)["action"] for r in records) == ["game_paused", "game_resumed"]


def consumer_of(bootstrap: str, topic: str) -> ConsumerSettings:
    """The consumer's settings for a bridge test's topic."""
    return ConsumerSettings(
        kafka_bootstrap_servers=bootstrap, kafka_topics=topic, kafka_dlq_topic=topic + ".dlq",
        kafka_indexed_topic=topic + ".dlq", kafka_group_id=f"g-{topic}", kafka_transactional_id=f"tx-{topic}",
        consumer_max_batch=256,
    )  # fmt: skip


def bridge_process(
    db: Path, state: Path, topic: str, bootstrap: str, log: Path | None = None, **extra: str
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GREAT_WORK_DB": str(db), "BRIDGE_STATE_FILE": str(state), "KAFKA_TOPICS": topic,
           "KAFKA_DLQ_TOPIC": topic + ".dlq", "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "BRIDGE_PAGE_ROWS": "5",
           "BRIDGE_POLL_S": "0.05", "BRIDGE_METRICS_PORT": "0", "KAFKA_CREATE_TOPICS": "false"}  # fmt: skip
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "bridge"], cwd=ROOT, env={**env, "LOG_JSON": "true", **extra},
                            stdout=out, stderr=out)  # fmt: skip


async def test_sigkill_mid_backfill_and_mid_tail_ten_times_then_every_row_is_stored_exactly_once(
    kafka_bootstrap: str, tmp_path: Path, embedder: FastembedEmbedder, knowledge_settings: KnowledgeSettings
) -> None:
    db = empty_game_db(tmp_path / "great_work.db", players=6, scholars=30)
    events, press = season_rows(400)
    for row in events[:250]:
        write_event(db, *row)
    for row in press[:250]:
        write_press(db, row)
    topic = await new_topic(kafka_bootstrap)
    state = tmp_path / "state.json"
    rng = random.Random(11)
    tail = threading.Thread(target=lambda: [  # the game keeps writing meanwhile
        (write_event(db, *events[i]), write_press(db, press[i]), time.sleep(0.03)) for i in range(250, 400)
    ])  # fmt: skip
    kills: list[int] = []
    for kill in range(10):
        before = sum(checkpoint.load(state).values())
        process = await asyncio.to_thread(bridge_process, db, state, topic, kafka_bootstrap)
        if kill == 4:
            tail.start()
        written = count(db, "events") + count(db, "press_releases")
        target = min(before + rng.randint(5, 60), written)  # mid-backfill at first, mid-tail later
        await asyncio.to_thread(wait_for, lambda goal=target: sum(checkpoint.load(state).values()) >= goal, 10, "pages")
        await asyncio.sleep(rng.uniform(0, 0.05))
        process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(process.wait, 30)
        kills.append(sum(checkpoint.load(state).values()))
    tail.join(60)
    log = tmp_path / "bridge.log"
    process = await asyncio.to_thread(bridge_process, db, state, topic, kafka_bootstrap, log)
    try:

        async def everything() -> bool:
            caught_up = checkpoint.load(state) == {"events": 400, "press_releases": 400}
            return caught_up and "bridge_started" in log.read_text()

        await wait_until(everything, 120, "the last run to publish the rest")
    finally:
        process.terminate()
        assert await asyncio.to_thread(process.wait, 30) == 0, "SIGTERM: a clean exit"
    settings = consumer_of(kafka_bootstrap, topic)
    async with edge_store(knowledge_settings, embedder) as store, ingest_loop(settings, embedder, store) as loop:
        await loop.run_until_idle()
        stored = await store.count()
        wanted = [point_id(f"{t}:{i}") for t in ("events", "press_releases") for i in range(1, 401)]
        found = await store.retrieve(wanted)
    published = await read_topic(kafka_bootstrap, topic)
    print(f"\nFIGURES bridge_sigkill: kills at {kills} rows published; "
          f"records {len(published)} for 800 rows; stored {stored}")  # fmt: skip
    assert len(set(kills)) >= 8 and kills[3] < 500, "the kills came at different points, mid-backfill too"
    assert stored == 800 and len(found) == 800, "every row stored exactly once"
    assert loop.dead_lettered_total == 0


async def test_the_bridge_says_when_it_is_ready_and_why_not_over_its_own_http_endpoint(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    db = empty_game_db(tmp_path / "great_work.db", players=2, scholars=4)
    for row in season_rows(20)[0]:
        write_event(db, *row)
    topic, port = await new_topic(kafka_bootstrap), free_port()
    process = await asyncio.to_thread(bridge_process, db, tmp_path / "state.json", topic, kafka_bootstrap,
                                      BRIDGE_METRICS_PORT=str(port), BRIDGE_BUSY_TIMEOUT_MS="50")  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:

            async def readiness(ready: bool) -> bool:
                try:
                    answer = await http.get("/readyz")
                except httpx.TransportError:
                    return False
                return (answer.status_code == 200) is ready and (ready or "retrying" in answer.json()["reason"])

            async def caught_up() -> bool:
                return await readiness(True) and (await http.get("/readyz")).json()["position"]["events"] == 20

            await wait_until(caught_up, 30, "the bridge to be ready and caught up")
            body = (await http.get("/readyz")).json()
            assert body["position"] == {"events": 20, "press_releases": 0} and body["rows_behind"]["events"] == 0
            assert 'bridge_last_published_id{table="events"} 20.0' in (await http.get("/metrics")).text
            assert (await http.get("/healthz")).status_code == 200 and (await http.get("/nope")).status_code == 404
            assert (await http.post("/readyz")).status_code == 405
            with closing(sqlite3.connect(db, isolation_level=None)) as game:  # the game holds its write lock
                game.execute("BEGIN EXCLUSIVE")
                await wait_until(lambda: readiness(False), 30, "503 while the database is locked")
                game.execute("ROLLBACK")
            await wait_until(lambda: readiness(True), 30, "ready again once the lock is gone")
    finally:
        process.terminate()
        assert await asyncio.to_thread(process.wait, 30) == 0

"""Nothing lost under faults, on the real broker and the real store. Each test prints its figures
(pytest -s shows them; docs/RELIABILITY.md quotes the last run)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from consumers.loop import ingest_loop
from consumers.settings import ConsumerSettings
from knowledge.breaker import CircuitBreaker
from knowledge.embedder import FastembedEmbedder
from knowledge.errors import StoreUnavailable
from knowledge.projector import point_id, project
from knowledge.runtime import identity_of
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import Sparse
from knowledge.store.base import Choose, KeywordHits, KnowledgeStore, ScoredPayload
from knowledge.store.qdrant_edge import QdrantEdgeStore
from schemas.dead_letter import HEADER_REASON, HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION
from schemas.documents import DocumentBase
from schemas.events import GameEvent
from schemas.search import SearchFilters
from scripts.sample_season import season
from tests.conftest import ROOT, encode, produce, read_all, wait_until
from tests.consumers.test_ingest import committed_offsets


def figures(name: str, **values: Any) -> None:
    """One line of figures per test, for docs/RELIABILITY.md."""
    print(f"\nFIGURES {name}: " + json.dumps(values))


class FaultyStore:
    """The real store behind a switch, for the faults a real embedded store cannot be made to show on
    demand: an outage (every call raises StoreUnavailable while `down`) and slowness (`delay_s` per
    write). Everything else goes to the real store."""

    def __init__(self, inner: KnowledgeStore) -> None:
        self.inner = inner
        self.down = False
        self.delay_s = 0.0
        self.failed_calls = 0
        self.writes_in_flight = 0
        self.max_writes_in_flight = 0
        self.largest_write = 0

    def _check(self) -> None:
        if self.down:
            self.failed_calls += 1
            raise StoreUnavailable("injected outage")

    async def ensure_collection(self, identity: Any) -> None:
        await self.inner.ensure_collection(identity)

    async def upsert(
        self, documents: Sequence[DocumentBase], vectors: Sequence[list[float]], sparse: Sequence[Sparse] | None = None
    ) -> None:
        self._check()
        self.writes_in_flight += 1
        self.max_writes_in_flight = max(self.max_writes_in_flight, self.writes_in_flight)
        self.largest_write = max(self.largest_write, len(documents))
        try:
            await asyncio.sleep(self.delay_s)
            await self.inner.upsert(documents, vectors, sparse)
        finally:
            self.writes_in_flight -= 1

    async def search(
        self, query: list[float] | Sparse, filters: SearchFilters, limit: int, *, with_payload: bool = True
    ) -> list[ScoredPayload]:
        self._check()
        return await self.inner.search(query, filters, limit, with_payload=with_payload)

    async def keyword_search(self, query: Sparse, filters: SearchFilters, limit: int) -> KeywordHits:
        self._check()
        return await self.inner.keyword_search(query, filters, limit)

    async def hybrid_then_read(
        self, vector: list[float], sparse: Sparse, keyword: KeywordHits, filters: SearchFilters, limit: int,
        choose: Choose,
    ) -> list[ScoredPayload]:  # fmt: skip
        self._check()
        return await self.inner.hybrid_then_read(vector, sparse, keyword, filters, limit, choose)

    async def search_like(self, point_id: UUID, filters: SearchFilters, limit: int) -> list[ScoredPayload] | None:
        self._check()
        return await self.inner.search_like(point_id, filters, limit)

    async def facet(self, key: str, filters: SearchFilters, limit: int) -> dict[str, int]:
        self._check()
        return await self.inner.facet(key, filters, limit)

    async def vector(self, point_id: UUID) -> list[float] | None:
        self._check()
        return await self.inner.vector(point_id)

    async def delete(self, point_ids: Sequence[UUID]) -> None:
        self._check()
        await self.inner.delete(point_ids)

    async def scroll_by_time(
        self,
        filters: SearchFilters,
        limit: int,
        start_from_ts: float | None,
        until_ts: float | None = None,
        *,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        self._check()
        return await self.inner.scroll_by_time(filters, limit, start_from_ts, until_ts, newest_first=newest_first)

    async def retrieve(self, point_ids: Sequence[UUID]) -> list[dict[str, Any]]:
        self._check()
        return await self.inner.retrieve(point_ids)

    async def count(self, filters: SearchFilters | None = None) -> int:
        return await self.inner.count(filters)

    async def ping(self) -> None:
        self._check()
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


@asynccontextmanager
async def edge_store(settings: KnowledgeSettings, embedder: FastembedEmbedder) -> AsyncIterator[QdrantEdgeStore]:
    async with QdrantEdgeStore.open(settings) as store:
        await store.ensure_collection(identity_of(embedder))
        yield store


def lag(topic: str) -> float:
    """consumer_lag summed over the topic's partitions, as /metrics shows it."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "consumer_lag"
        for sample in metric.samples
        if sample.labels.get("topic") == topic
    )


def fast_retries(settings: ConsumerSettings, **extra: Any) -> ConsumerSettings:
    return settings.model_copy(update={"retry_initial_s": 0.05, "retry_max_s": 0.4, **extra})


def mixed_records(count: int, seed: int) -> tuple[list[tuple[bytes | None, bytes | None]], set[str], int]:
    """Valid events (some sent twice) and invalid records: (records, unique valid ids, invalid count)."""
    rng = random.Random(seed)
    events = list(season(count, seed=seed))
    records: list[tuple[bytes | None, bytes | None]] = []
    invalid = 0
    for event in events:
        records.append(encode(event))
        if rng.random() < 0.05:
            records.append(encode(event))  # the game sent it twice
        if rng.random() < 0.04:
            records.append((b"bad", json.dumps({"event_id": f"bad-{invalid}", "action": "x"}).encode()))
            invalid += 1
    return records, {e["event_id"] for e in events}, invalid


# --- 1. crash -------------------------------------------------------------------------------------


def consumer_env(settings: ConsumerSettings, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "KAFKA_TOPICS": settings.topics[0],
        "KAFKA_DLQ_TOPIC": settings.kafka_dlq_topic,
        "KAFKA_GROUP_ID": settings.kafka_group_id,
        "KAFKA_TRANSACTIONAL_ID": settings.kafka_transactional_id or "crash-test",
        "CONSUMER_MAX_BATCH": "32",
        "KAFKA_SESSION_TIMEOUT_MS": "2000",  # a killed member's partitions move on quickly
        "DATA_DIR": str(data_dir),
        "COLLECTION_NAME": "crash",
        "METRICS_PORT": "0",
        "LOG_LEVEL": "WARNING",
    }


async def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    consumer_settings: ConsumerSettings, embedder: FastembedEmbedder, tmp_path: Path
) -> None:
    records, valid_ids, invalid = mixed_records(2000, seed=101)
    await produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], records)
    env = consumer_env(consumer_settings, tmp_path / "data")
    rng = random.Random(7)
    kills = 0
    committed_at_kill = []
    while kills < 10:
        before = sum((await committed_offsets(consumer_settings)).values())
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "consumers", cwd=ROOT, env=env)
        try:

            async def progressing(floor: int = before) -> bool:
                return sum((await committed_offsets(consumer_settings)).values()) > floor

            await wait_until(progressing, 60, "the restarted consumer to commit a batch")
            await asyncio.sleep(rng.uniform(0.0, 1.5))  # then die anywhere: embedding, upsert, commit
        finally:
            process.send_signal(signal.SIGKILL)
            await asyncio.wait_for(process.wait(), 30)
        kills += 1
        committed_at_kill.append(sum((await committed_offsets(consumer_settings)).values()))
    assert committed_at_kill[-1] < len(records), "the kills must land before the end of the ingest"

    final = await asyncio.create_subprocess_exec(sys.executable, "-m", "consumers", cwd=ROOT, env=env)
    try:

        async def all_committed() -> bool:
            return sum((await committed_offsets(consumer_settings)).values()) == len(records)

        await wait_until(all_committed, 180, "the restarted consumer to commit everything")
    finally:
        final.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(final.wait(), 60) == 0

    store_settings = KnowledgeSettings(data_dir=tmp_path / "data", collection_name="crash")
    async with edge_store(store_settings, embedder) as store:
        stored = await store.count()
        found = await store.retrieve([point_id(i) for i in valid_ids])
    letters = await read_all(consumer_settings.kafka_bootstrap_servers, consumer_settings.kafka_dlq_topic, invalid)
    sources = {(dict(r.headers)[HEADER_SOURCE_PARTITION], dict(r.headers)[HEADER_SOURCE_OFFSET]) for r in letters}
    figures("crash", kills=kills, records=len(records), unique_valid=len(valid_ids), stored=stored,
            invalid=invalid, dead_letters=len(letters), committed_at_kills=committed_at_kill)  # fmt: skip
    assert stored == len(valid_ids) == len(found), "0 lost, 0 duplicated"
    assert len(letters) == len(sources) == invalid, "the DLQ holds each invalid record exactly once"


# --- 2. broker restart ----------------------------------------------------------------------------


async def test_broker_restart_mid_ingest_loses_nothing(
    private_broker: Any, embedder: FastembedEmbedder, knowledge_settings: KnowledgeSettings
) -> None:
    bootstrap, broker = private_broker
    topic = f"restart.{uuid.uuid4().hex[:8]}"
    settings = fast_retries(
        ConsumerSettings(kafka_bootstrap_servers=bootstrap, kafka_topics=topic, kafka_dlq_topic=topic + ".dlq",
                         kafka_group_id=f"g-{topic}", kafka_transactional_id=f"tx-{topic}", consumer_max_batch=32,
                         kafka_request_timeout_s=5),
        retry_max_s=1.0,
    )  # fmt: skip
    first, second = list(season(500, seed=5)), list(season(300, seed=6))
    await produce(bootstrap, topic, [encode(e) for e in first])
    async with edge_store(knowledge_settings, embedder) as store, ingest_loop(settings, embedder, store) as loop:
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop))

        async def some() -> bool:
            return loop.indexed_total >= 100

        await wait_until(some, 60, "the first batches")
        await asyncio.to_thread(broker, "stop")
        indexed_during_outage = loop.indexed_total
        await asyncio.sleep(3)
        await asyncio.to_thread(broker, "start")
        await produce(bootstrap, topic, [encode(e) for e in second])

        async def everything() -> bool:
            return await store.count() == len(first) + len(second)

        await wait_until(everything, 180, "every event after the restart")
        stop.set()
        await asyncio.wait_for(task, 60)
    committed = await committed_offsets(settings)
    figures("broker_restart", events=len(first) + len(second), indexed_before_stop=indexed_during_outage,
            stored=len(first) + len(second), committed=sum(committed.values()))  # fmt: skip
    assert sum(committed.values()) == len(first) + len(second)


# --- 3. store outage ------------------------------------------------------------------------------


async def test_store_outage_retries_pauses_and_resumes_without_dead_letters(
    consumer_settings: ConsumerSettings, embedder: FastembedEmbedder, knowledge_settings: KnowledgeSettings
) -> None:
    settings = fast_retries(consumer_settings, consumer_max_batch=32, lag_interval_s=0.2)
    events = list(season(300, seed=17))
    async with edge_store(knowledge_settings, embedder) as real:
        store = FaultyStore(real)
        breaker = CircuitBreaker(threshold=3)
        async with ingest_loop(settings, embedder, store, breaker=breaker) as loop:
            stop = asyncio.Event()
            task = asyncio.create_task(loop.run(stop))
            await produce(settings.kafka_bootstrap_servers, settings.topics[0], [encode(e) for e in events[:100]])

            async def first_part() -> bool:
                return await real.count() == 100

            await wait_until(first_part, 60, "the first 100")
            store.down = True
            await produce(settings.kafka_bootstrap_servers, settings.topics[0], [encode(e) for e in events[100:]])

            async def opened() -> bool:
                return breaker.is_open and store.failed_calls >= 5

            await wait_until(opened, 30, "the breaker to open")

            async def lag_shows_the_outage() -> bool:  # measured beside the stalled batch
                return lag(settings.topics[0]) == len(events) - 100

            await wait_until(lag_shows_the_outage, 30, "the lag gauge to count what waits")
            stalled_for = REGISTRY.get_sample_value("consumer_seconds_since_last_batch") or 0.0
            committed_during = sum((await committed_offsets(settings)).values())
            paused = bool(loop.consumer.paused())
            store.down = False

            async def everything() -> bool:
                return await real.count() == len(events)

            await wait_until(everything, 60, "recovery")
            stop.set()
            await asyncio.wait_for(task, 30)
    committed = sum((await committed_offsets(settings)).values())
    figures("store_outage", events=len(events), failed_store_calls=store.failed_calls,
            committed_during_outage=committed_during, committed_after=committed, paused_during=paused)  # fmt: skip
    assert committed_during == 100, "nothing stored during the outage, so nothing committed"
    assert stalled_for > 0.3, "seconds since the last batch grow during the outage"
    assert lag(settings.topics[0]) == 0
    assert paused, "fetching pauses while the store is down"
    assert not breaker.is_open
    assert committed == len(events)
    assert loop.dead_lettered_total == 0


async def test_readyz_fails_while_the_breaker_is_open(store: KnowledgeStore, embedder: FastembedEmbedder) -> None:
    from service.deps import Runtime
    from service.routers.health import readyz

    breaker = CircuitBreaker(threshold=2)
    runtime = Runtime(embedder=embedder, store=store, breaker=breaker)
    assert (await readyz(runtime)).status_code == 200
    breaker.failure()
    breaker.failure()
    response = await readyz(runtime)
    assert response.status_code == 503
    assert b"circuit open" in response.body
    breaker.success()
    assert (await readyz(runtime)).status_code == 200


# --- 4. poison input ------------------------------------------------------------------------------

POISON: list[tuple[str, bytes | None, str]] = [
    ("malformed json", b'{"event_id": "p1", "action": ', "invalid_json"),
    ("trailing garbage", b'{"event_id": "p2"} }}', "invalid_json"),
    ("invalid utf-8", b'{"event_id": "\xff\xfe"}', "invalid_utf8"),
    ("empty", b"", "empty"),
    ("null value", None, "empty"),
    ("not an object", b'["launch_expedition"]', "schema_violation"),
    ("missing occurred_at", b'{"event_id": "p3", "action": "submit_theory", "payload": {}}', "schema_violation"),
    ("naive timestamp", b'{"event_id": "p4", "action": "x", "occurred_at": "2025-03-01T00:00:00"}', "schema_violation"),
    ("wrong type", b'{"event_id": "p5", "action": "expedition_resolved", "occurred_at": "2025-03-01T00:00:00Z",'
                   b' "payload": {"code": "FD-1", "player": "p", "result": "success", "roll": "high"}}',
     "schema_violation"),
    ("missing payload field", b'{"event_id": "p6", "action": "press_release", "occurred_at": "2025-03-01T00:00:00Z",'
                              b' "payload": {"body": "no type, no headline"}}', "schema_violation"),
    ("oversized", b'{"event_id": "p7", "action": "x", "occurred_at": "2025-03-01T00:00:00Z", "payload": {"b": "'
                  + b"x" * 70_000 + b'"}}', "too_large"),
    ("deeply nested", b'{"event_id": "p8", "action": "x", "occurred_at": "2025-03-01T00:00:00Z", "payload": '
                      + b'{"a":' * 3000 + b"1" + b"}" * 3000 + b"}", "schema_violation"),
    ("null byte in id", b'{"event_id": "p\\u0000", "action": "x", "occurred_at": "2025-03-01T00:00:00Z"}',
     "schema_violation"),
]  # fmt: skip

VALID_ODDITIES: list[tuple[str, dict[str, Any]]] = [
    ("unknown action", {"event_id": "ok-1", "action": "comet_sighted", "occurred_at": "2025-03-01T00:00:00Z",
                        "payload": {"brightness": 3}}),
    ("null bytes in payload", {"event_id": "ok-2", "action": "table_talk_post", "occurred_at": "2025-03-01T00:00:00Z",
                               "payload": {"player": "p.ada", "message": "nul \u0000 inside"}}),
    ("nested payload", {"event_id": "ok-3", "action": "mystery", "occurred_at": "2025-03-01T00:00:00Z",
                        "payload": json.loads('{"a":' * 30 + "1" + "}" * 30)}),
    ("extra envelope field", {"event_id": "ok-4", "action": "x", "occurred_at": "2025-03-01T00:00:00+02:00",
                              "producer": "game-7", "payload": {}}),
]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
moments = st.sampled_from(["2025-03-01T10:00:00Z", "2025-03-02T11:30:00+01:00", "yesterday", "2025-03-01T10:00:00"])
actions = st.sampled_from(["submit_theory", "made_up", "comet_sighted", "launch_expedition", "press_release", "Bad"])
payload_keys = st.sampled_from(["player", "code", "theory", "type", "headline", "x"])
envelopes = st.fixed_dictionaries(
    {"event_id": st.text(min_size=0, max_size=12), "occurred_at": moments, "action": actions},
    optional={
        "payload": st.dictionaries(payload_keys, json_values, max_size=4),
        "game_time": st.sampled_from(["Y57.D19", "Y1.D1", "57"]),
    },
)


def mutated_season(count: int, seed: int) -> list[dict[str, Any]]:
    """Real-looking events with one random fault each (or none): fields dropped, types swapped, naive
    times, null bytes, unknown actions, nesting, huge bodies."""
    rng = random.Random(seed)
    result = []
    for event in season(count, seed=seed):
        payload = dict(event["payload"])
        fault = rng.randrange(9)
        if fault == 0:
            event.pop(rng.choice(["event_id", "action", "occurred_at"]))
        elif fault == 1 and payload:
            key = rng.choice(list(payload))
            payload[key] = {"surprise": [payload[key]]} if isinstance(payload[key], str) else "not-a-number"
        elif fault == 2:
            event["occurred_at"] = event["occurred_at"][:19]
        elif fault == 3:
            payload["note"] = "nul\u0000byte"
        elif fault == 4:
            event["action"] = rng.choice(["comet_sighted", "archive_flooded", "duel_declared"])
        elif fault == 5:
            nested: Any = 1
            for _ in range(rng.choice([20, 60])):
                nested = {"n": nested}
            payload["deep"] = nested
        elif fault == 6:
            payload["body"] = "x" * rng.choice([1000, 80_000])
        elif fault == 7:
            event["game_time"] = rng.choice(["Y57.D19", "57", "Y57-D19"])
        event["payload"] = payload
        result.append(event)
    return result


@settings(max_examples=1, phases=[Phase.generate], deadline=None, suppress_health_check=list(HealthCheck))
@given(generated=st.lists(envelopes, min_size=120, max_size=120))
def test_poison_input_each_gets_its_documented_outcome(
    generated: list[dict[str, Any]],
    consumer_settings: ConsumerSettings,
    embedder: FastembedEmbedder,
    knowledge_settings: KnowledgeSettings,
) -> None:
    asyncio.run(_poison(generated, consumer_settings, embedder, knowledge_settings))


async def _poison(
    generated: list[dict[str, Any]], consumer_settings: ConsumerSettings, embedder: FastembedEmbedder,
    knowledge_settings: KnowledgeSettings,
) -> None:  # fmt: skip
    from consumers.decoding import decode_event
    from consumers.errors import BadEvent

    settings = consumer_settings.model_copy(
        update={"max_message_bytes": 65_536, "kafka_group_id": f"g-{uuid.uuid4().hex[:6]}"}
    )
    expected_reasons: list[str] = [reason for _, _, reason in POISON]
    valid_ids = {event["event_id"] for _, event in VALID_ODDITIES}
    records: list[tuple[bytes | None, bytes | None]] = [(b"p", raw) for _, raw, _ in POISON]
    records += [(b"v", json.dumps(event).encode()) for _, event in VALID_ODDITIES]
    for i, envelope in enumerate(generated + mutated_season(900, seed=3)):
        if envelope.get("event_id"):
            envelope = {**envelope, "event_id": f"gen-{i}-{envelope['event_id']}"}
        raw = json.dumps(envelope).encode()
        records.append((b"g", raw))
        try:  # the generated ones' documented outcome is the decoder's verdict; the crafted ones are fixed above
            valid_ids.add(decode_event(raw, settings.max_message_bytes).event_id)
        except BadEvent as bad:
            expected_reasons.append(bad.reason.value)
    await produce(settings.kafka_bootstrap_servers, settings.topics[0], records)
    async with edge_store(knowledge_settings, embedder) as store, ingest_loop(settings, embedder, store) as loop:
        await loop.run_until_idle()
        stored = await store.count()
    letters = await read_all(settings.kafka_bootstrap_servers, settings.kafka_dlq_topic, len(expected_reasons))
    got = sorted(dict(r.headers)[HEADER_REASON].decode() for r in letters)
    figures("poison", messages=len(records), stored=stored, dead_letters=len(letters),
            by_reason={r: got.count(r) for r in sorted(set(got))})  # fmt: skip
    assert len(records) >= 1000
    assert stored == len(valid_ids)
    assert got == sorted(expected_reasons)
    crafted = {dict(r.headers)[HEADER_SOURCE_OFFSET]: dict(r.headers)[HEADER_REASON].decode() for r in letters
               if r.key == b"p"}  # fmt: skip
    assert len(crafted) == len(POISON)
    assert sum((await committed_offsets(settings)).values()) == len(records)


# --- 5. ordering ----------------------------------------------------------------------------------


async def test_older_content_never_overwrites_newer(
    consumer_settings: ConsumerSettings, embedder: FastembedEmbedder, knowledge_settings: KnowledgeSettings
) -> None:
    def version(occurred_at: str, headline: str) -> tuple[bytes, bytes]:
        event = {"event_id": "evt-versioned", "action": "press_release", "occurred_at": occurred_at,
                 "payload": {"type": "academic_gossip", "headline": headline, "body": ""}}  # fmt: skip
        return b"same-key", json.dumps(event).encode()

    from knowledge.metrics import STALE_WRITES_REJECTED

    rejected_before = STALE_WRITES_REJECTED._value.get()
    async with edge_store(knowledge_settings, embedder) as store:
        async with ingest_loop(consumer_settings, embedder, store) as loop:
            await produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0],
                          [version("2025-03-02T00:00:00Z", "newer")])  # fmt: skip
            await loop.run_until_idle()
            later = [version("2025-03-01T00:00:00Z", "older"), version("2025-03-02T00:00:00Z", "newest, same time")]
            await produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], later)
            await loop.run_until_idle()
        [stored] = await store.retrieve([point_id("evt-versioned")])
    rejected = STALE_WRITES_REJECTED._value.get() - rejected_before
    figures("ordering", stale_rejected=rejected, stored_headline=stored["payload"]["headline"])
    assert stored["payload"]["headline"] == "newest, same time", "same time: the later offset wins"
    assert rejected == 1


async def test_a_stale_event_beside_fresh_ones_leaves_each_its_own_vector(
    consumer_settings: ConsumerSettings, embedder: FastembedEmbedder, knowledge_settings: KnowledgeSettings
) -> None:
    """The batch is embedded whole while the store is asked for versions: the stale one's vector must
    not shift the others' onto the wrong points."""

    sent: dict[tuple[str, str], dict[str, Any]] = {}

    def gossip(event_id: str, occurred_at: str, headline: str) -> tuple[bytes, bytes]:
        event = {"event_id": event_id, "action": "press_release", "occurred_at": occurred_at,
                 "payload": {"type": "academic_gossip", "headline": headline, "body": ""}}  # fmt: skip
        sent[event_id, headline] = event
        return event_id.encode(), json.dumps(event).encode()

    topic, bootstrap = consumer_settings.topics[0], consumer_settings.kafka_bootstrap_servers
    async with edge_store(knowledge_settings, embedder) as store:
        async with ingest_loop(consumer_settings, embedder, store) as loop:
            await produce(bootstrap, topic, [gossip("evt-kept", "2025-03-02T00:00:00Z", "the newer rumour")])
            await loop.run_until_idle()
            later = [gossip("evt-kept", "2025-03-01T00:00:00Z", "an older rumour"),
                     gossip("evt-moth", "2025-03-03T00:00:00Z", "moths ate the archive"),
                     gossip("evt-bell", "2025-03-03T00:00:00Z", "the bell tower fell")]  # fmt: skip
            await produce(bootstrap, topic, later)
            await loop.run_until_idle()
        [kept] = await store.retrieve([point_id("evt-kept")])
        assert kept["payload"]["headline"] == "the newer rumour"
        for key in [("evt-kept", "the newer rumour"), ("evt-moth", "moths ate the archive"),
                    ("evt-bell", "the bell tower fell")]:  # fmt: skip
            [own] = await embedder.embed_documents([project(GameEvent.model_validate(sent[key])).embedding_text])
            assert await store.vector(point_id(key[0])) == pytest.approx(own, abs=1e-5), key


# --- 6. rebalance ---------------------------------------------------------------------------------


async def test_a_killed_group_member_hands_its_partitions_over(
    consumer_settings: ConsumerSettings, embedder: FastembedEmbedder, knowledge_settings: KnowledgeSettings
) -> None:
    settings = consumer_settings.model_copy(update={"consumer_max_batch": 16, "kafka_session_timeout_ms": 6000})
    events = list(season(900, seed=29))
    await produce(settings.kafka_bootstrap_servers, settings.topics[0], [encode(e) for e in events])
    async with edge_store(knowledge_settings, embedder) as store:
        async with (
            ingest_loop(settings.model_copy(update={"kafka_transactional_id": "tx-a"}), embedder, store) as a,
            ingest_loop(settings.model_copy(update={"kafka_transactional_id": "tx-b"}), embedder, store) as b,
        ):
            stop = asyncio.Event()
            task_a = asyncio.create_task(a.run(stop))
            task_b = asyncio.create_task(b.run(stop))

            async def both_working() -> bool:
                return a.indexed_total > 0 and b.indexed_total > 0

            await wait_until(both_working, 60, "both members to index")
            task_a.cancel()  # killed mid-flight: its current batch may or may not have been committed
            await asyncio.gather(task_a, return_exceptions=True)
            await a.consumer.stop()
            # What the group had committed when the member died, and what the survivor had counted by
            # then. The killed member's own count cannot say what it left undone: a kill that lands
            # while its transaction commits leaves a batch committed (and stored) but never counted.
            survivor_before = b.indexed_total
            committed_at_kill = sum((await committed_offsets(settings)).values())

            async def everything() -> bool:
                return sum((await committed_offsets(settings)).values()) == len(events)

            await wait_until(everything, 120, "the survivor to take over and finish")
            stop.set()
            await asyncio.wait_for(task_b, 30)
        stored = await store.count()
    figures("rebalance", events=len(events), indexed_by_killed=a.indexed_total, indexed_by_survivor=b.indexed_total,
            committed_at_kill=committed_at_kill, stored=stored)  # fmt: skip
    assert stored == len(events)
    assert b.indexed_total - survivor_before >= len(events) - committed_at_kill, (
        "the survivor indexed everything left uncommitted when the other member died"
    )


# --- 7. backpressure ------------------------------------------------------------------------------


async def test_a_slow_store_bounds_work_in_flight_while_lag_grows(
    consumer_settings: ConsumerSettings, embedder: FastembedEmbedder, knowledge_settings: KnowledgeSettings
) -> None:
    from knowledge.metrics import CONSUMER_LAG

    settings = consumer_settings.model_copy(update={"consumer_max_batch": 20})
    events = list(season(400, seed=37))
    lags: list[float] = []
    async with edge_store(knowledge_settings, embedder) as real:
        store = FaultyStore(real)
        store.delay_s = 0.3
        async with ingest_loop(settings, embedder, store) as loop:
            stop = asyncio.Event()
            task = asyncio.create_task(loop.run(stop))
            await produce(settings.kafka_bootstrap_servers, settings.topics[0], [encode(e) for e in events])

            async def everything() -> bool:
                lags.append(sum(CONSUMER_LAG.labels(settings.topics[0], str(p))._value.get() for p in range(3)))
                return await real.count() == len(events)

            await wait_until(everything, 180, "the slow store to catch up")
            stop.set()
            await asyncio.wait_for(task, 30)
    figures("backpressure", events=len(events), max_writes_in_flight=store.max_writes_in_flight,
            largest_write=store.largest_write, max_lag=max(lags))  # fmt: skip
    assert store.max_writes_in_flight == 1
    assert store.largest_write <= settings.consumer_max_batch
    assert max(lags) >= 100, "lag builds up in Kafka, not in memory"

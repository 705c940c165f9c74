"""Live subscriptions: exactly the matching events of a burst reach a subscriber; a stalled client
does not hold up a healthy one; the separate-process path works through the notices topic."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import numpy as np

from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.projector import project
from knowledge.settings import KnowledgeSettings
from schemas.documents import Category
from schemas.events import GameEvent
from schemas.search import SearchFilters
from scripts.sample_season import season
from service.app import create_app
from service.hub import QUEUE_SIZE, Hub
from service.settings import AppSettings, ServiceSettings
from tests.conftest import ROOT, encode, local_client, produce, wait_for

QUERY = "an expedition ended in failure"
FILTERS = {"category": ["expedition"]}


def expected_matches(embedder: FastembedEmbedder, events: list[dict[str, Any]], min_score: float) -> set[str]:
    """What the hub should push: filter match and score >= min_score, computed independently."""
    documents = [project(GameEvent.model_validate(e)) for e in events]
    query = np.asarray(asyncio.run(embedder.embed_query(QUERY)))
    vectors = np.asarray(embedder.embed_sync([d.embedding_text for d in documents]))
    scores = vectors @ query
    wanted = (
        d.event_id
        for d, s in zip(documents, scores, strict=True)
        if s >= min_score and d.category is Category.EXPEDITION
    )
    return set(wanted)


def threshold_in_a_gap(embedder: FastembedEmbedder, events: list[dict[str, Any]]) -> float:
    """A min_score no expedition document scores within 0.01 of, so rounding cannot decide a match."""
    documents = [project(GameEvent.model_validate(e)) for e in events]
    expeditions = [d for d in documents if d.category is Category.EXPEDITION]
    query = np.asarray(asyncio.run(embedder.embed_query(QUERY)))
    scores = sorted(np.asarray(embedder.embed_sync([d.embedding_text for d in expeditions])) @ query)
    gaps = [(b - a, (a + b) / 2) for a, b in itertools.pairwise(scores) if b - a > 0.02]
    middle = [g for g in gaps if 0.2 < g[1] < 0.7]
    return float(max(middle or gaps)[1])


def test_a_subscriber_receives_exactly_the_matching_events_of_a_burst(
    knowledge_settings: KnowledgeSettings, consumer_settings: ConsumerSettings, embedder: FastembedEmbedder
) -> None:
    events = list(season(150, seed=83))
    min_score = threshold_in_a_gap(embedder, events)
    wanted = expected_matches(embedder, events, min_score)
    assert 0 < len(wanted) < len(events)
    settings = AppSettings(service=ServiceSettings(), knowledge=knowledge_settings, consumer=consumer_settings)
    with (
        local_client(create_app(settings, embedder=embedder)) as client,
        client.websocket_connect("ws://127.0.0.1:8000/v1/subscribe") as ws,
    ):
        ws.send_text(json.dumps({"query": QUERY, "filters": FILTERS, "min_score": min_score}))
        assert ws.receive_json()["type"] == "subscribed"
        asyncio.run(produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0],
                            [encode(e) for e in events]))  # fmt: skip
        wait_for(lambda: client.post("/v1/facets", json={}).json()["total"] == len(events), 60, "the burst indexed")
        # A sentinel that matches (a copy of a wanted event) is indexed, hence pushed, after the whole burst:
        # everything before it on the socket is all the burst produced.
        twin = next(e for e in events if e["event_id"] in wanted)
        asyncio.run(produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0],
                            [encode({**twin, "event_id": "sentinel"})]))  # fmt: skip
        got: dict[str, float] = {}
        while (message := ws.receive_json())["event_id"] != "sentinel":  # the suite's timeout ends a hang
            assert message["event_id"] not in got, "each match is pushed once"
            got[message["event_id"]] = message["score"]
    assert set(got) == wanted
    assert all(score >= min_score for score in got.values())


async def test_a_stalled_subscriber_does_not_hold_up_a_healthy_one(embedder: FastembedEmbedder) -> None:
    hub = Hub()
    events = [GameEvent.model_validate(e) for e in season(QUEUE_SIZE + 100, seed=89)]
    documents = [project(e) for e in events]
    vectors = await embedder.embed_documents([d.embedding_text for d in documents])
    query = await embedder.embed_query("anything at all")
    stalled = hub.subscribe("anything at all", query, SearchFilters(), -1.0)
    healthy = hub.subscribe("anything at all", query, SearchFilters(), -1.0)
    received = 0
    for start in range(0, len(documents), 50):
        hub.publish(documents[start : start + 50], vectors[start : start + 50])
        while healthy.waiting:
            await healthy.next()
            received += 1
    assert received == len(documents)
    assert len(stalled.waiting) == QUEUE_SIZE and stalled.dropped == 100
    first = json.loads(await stalled.next() or "null")
    assert first["dropped_before"] == 100 and first["event_id"] == documents[100].event_id
    hub.unsubscribe(stalled)
    hub.unsubscribe(healthy)


def test_bad_standing_queries_are_refused_with_the_field(
    knowledge_settings: KnowledgeSettings, consumer_settings: ConsumerSettings, embedder: FastembedEmbedder
) -> None:
    settings = AppSettings(service=ServiceSettings(run_consumer=False, live_notices=False),
                           knowledge=knowledge_settings, consumer=consumer_settings)  # fmt: skip
    with (
        local_client(create_app(settings, embedder=embedder)) as client,
        client.websocket_connect("ws://127.0.0.1:8000/v1/subscribe") as ws,
    ):
        ws.send_text(json.dumps({"query": "", "min_score": 3}))
        reply = ws.receive_json()
    assert reply["type"] == "error"
    assert {e["field"] for e in reply["errors"]} == {"query", "min_score"}


def test_sse_subscribers_hear_a_consumer_in_another_process(
    knowledge_settings: KnowledgeSettings, consumer_settings: ConsumerSettings, embedder: FastembedEmbedder,
    tmp_path: Path,
) -> None:  # fmt: skip
    settings = AppSettings(service=ServiceSettings(run_consumer=False), knowledge=knowledge_settings,
                           consumer=consumer_settings)  # fmt: skip
    events = list(season(40, seed=97))
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": consumer_settings.kafka_bootstrap_servers,
           "KAFKA_TOPICS": consumer_settings.topics[0], "KAFKA_DLQ_TOPIC": consumer_settings.kafka_dlq_topic,
           "KAFKA_GROUP_ID": consumer_settings.kafka_group_id,
           "KAFKA_INDEXED_TOPIC": consumer_settings.kafka_indexed_topic,
           "STORE_BACKEND": "qdrant", "QDRANT_LOCAL_PATH": str(tmp_path / "q"), "DATA_DIR": str(tmp_path / "d"),
           "METRICS_PORT": "0"}  # fmt: skip
    with local_client(create_app(settings, embedder=embedder)) as client:
        import subprocess

        consumer = subprocess.Popen([sys.executable, "-m", "consumers"], cwd=ROOT, env=env)
        try:
            with client.stream("GET", "/v1/stream", params={"query": "anything", "min_score": -1}) as response:
                assert response.status_code == 200
                lines = response.iter_lines()
                assert next(lines) == "event: subscribed"
                asyncio.run(produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0],
                                    [encode(e) for e in events]))  # fmt: skip
                got: set[str] = set()
                for line in lines:
                    if line.startswith("data: ") and '"event_id"' in line:
                        got.add(json.loads(line[6:])["event_id"])
                    if len(got) == len(events):
                        break
        finally:
            consumer.send_signal(signal.SIGTERM)
            consumer.wait(timeout=60)
    assert got == {e["event_id"] for e in events}

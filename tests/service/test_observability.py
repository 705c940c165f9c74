"""Metrics move with real events (and with a dead letter); requests carry an id into the logs."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import structlog
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.settings import KnowledgeSettings
from scripts.sample_season import season
from service.app import create_app
from service.settings import AppSettings, ServiceSettings
from tests.conftest import encode, local_client, produce, wait_for


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by name and sorted labels."""
    text = client.get("/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_move_when_events_flow_and_one_is_dead_lettered(
    knowledge_settings: KnowledgeSettings, consumer_settings: ConsumerSettings, embedder: FastembedEmbedder
) -> None:
    events = list(season(40, seed=53))
    settings = AppSettings(service=ServiceSettings(), knowledge=knowledge_settings, consumer=consumer_settings)
    with local_client(create_app(settings, embedder=embedder)) as client:
        before = samples(client)
        records = [encode(e) for e in events[:20]] + [(b"bad", b"{oops")] + [encode(e) for e in events[20:]]
        asyncio.run(produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], records))

        def delta(name: str, **labels: str) -> float:
            key = (name, tuple(sorted(labels.items())))
            return samples(client).get(key, 0.0) - before.get(key, 0.0)

        def lagged_partitions() -> set[str]:
            return {dict(labels)["partition"] for name, labels in samples(client) if name == "consumer_lag"}

        # Records are counted as consumed when read and as indexed only after their batch is stored,
        # so each counter is waited on for itself, never inferred from another.
        expected = Counter(e["action"] for e in events)
        wait_for(lambda: delta("events_consumed_total", topic=consumer_settings.topics[0]) == 41, 60, "41 consumed")
        wait_for(lambda: {a: delta("events_indexed_total", action=a) for a in expected} == expected, 60, "40 indexed")
        wait_for(lambda: delta("events_dead_lettered_total", reason="invalid_json") == 1, 30, "the dead letter")
        wait_for(lambda: lagged_partitions() == {"0", "1", "2"}, 30, "lag of every partition")
        assert delta("ingest_to_searchable_seconds_count") == 40
        assert delta("embed_seconds_count") >= 1 and delta("upsert_seconds_count") >= 1
        assert delta("batch_size_records_sum") == 41
        stamp = samples(client)[("events_last_indexed_timestamp_seconds", ())]
        assert time.time() - 60 < stamp <= time.time(), "the last batch's time"

        response = client.post("/v1/search", json={"query": "expedition", "top_k": 3})
        assert response.status_code == 200
        assert delta("search_seconds_count", endpoint="search", mode="hybrid") == 1


def test_every_request_has_an_id_in_its_response_and_log_lines(
    knowledge_settings: KnowledgeSettings, consumer_settings: ConsumerSettings, embedder: FastembedEmbedder
) -> None:
    service = ServiceSettings(run_consumer=False)
    settings = AppSettings(service=service, knowledge=knowledge_settings, consumer=consumer_settings)
    with (
        local_client(create_app(settings, embedder=embedder)) as client,
        capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs,
    ):
        given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        made = client.post("/v1/search", json={"query": "x", "top_k": 0})
    assert given.headers["x-request-id"] == "abc-123"
    assert len(made.headers["x-request-id"]) == 32
    handled = [line for line in logs if line["event"] == "request_handled"]
    assert {line["request_id"] for line in handled} == {"abc-123", made.headers["x-request-id"]}
    assert {line["status"] for line in handled} == {200, 422}

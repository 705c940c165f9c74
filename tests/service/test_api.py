"""The HTTP API in-process with its lifespan: model, embedded store and the in-process consumer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.settings import KnowledgeSettings
from scripts.sample_season import season
from service.app import create_app
from service.settings import AppSettings, ServiceSettings
from tests.conftest import encode, produce

EVENTS = list(season(60, seed=41))


@pytest.fixture
def client(
    knowledge_settings: KnowledgeSettings, consumer_settings: ConsumerSettings, embedder: FastembedEmbedder
) -> Iterator[TestClient]:
    asyncio.run(
        produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], [encode(e) for e in EVENTS])
    )
    settings = AppSettings(service=ServiceSettings(), knowledge=knowledge_settings, consumer=consumer_settings)
    with TestClient(create_app(settings, embedder=embedder), raise_server_exceptions=False) as test_client:
        deadline = time.monotonic() + 60
        last = EVENTS[-1]["event_id"]
        while test_client.get(f"/v1/events/{EVENTS[0]['event_id']}").status_code != 200 or (
            test_client.get(f"/v1/events/{last}").status_code != 200
        ):
            if time.monotonic() > deadline:
                pytest.fail("the in-process consumer did not index the produced events within 60 s")
            time.sleep(0.05)
        yield test_client


def test_search_returns_scored_hits_with_payloads(client: TestClient) -> None:
    response = client.post("/v1/search", json={"query": "expedition results and rolls", "top_k": 5})
    assert response.status_code == 200
    hits = response.json()["hits"]
    assert len(hits) == 5
    assert all(
        {"score", "event_id", "category", "action", "occurred_at", "content", "payload"} <= h.keys() for h in hits
    )
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_filters_by_category_and_time(client: TestClient) -> None:
    after = EVENTS[30]["occurred_at"]
    response = client.post(
        "/v1/search",
        json={"query": "news", "top_k": 60, "filters": {"category": ["press"], "occurred_after": after}},
    )
    assert response.status_code == 200
    press_actions = {"press_release", "press_scheduled", "scheduled_press_released", "digest_highlights_generated",
                     "press_shared", "sideways_press_scheduled"}  # fmt: skip
    expected = {e["event_id"] for e in EVENTS[30:] if e["action"] in press_actions}
    assert expected, "the sample has press events after the cut"
    assert {h["event_id"] for h in response.json()["hits"]} == expected


def test_get_event_and_unknown_event(client: TestClient) -> None:
    event = EVENTS[3]
    found = client.get(f"/v1/events/{event['event_id']}")
    assert found.status_code == 200
    assert found.json()["payload"] == event["payload"]
    missing = client.get("/v1/events/no-such-event")
    assert missing.status_code == 404
    assert missing.json()["detail"]["field"] == "event_id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": "", "top_k": 5}, "query"),
        ({"query": "x", "top_k": 0}, "top_k"),
        ({"query": "x", "top_k": 1000}, "top_k"),
        ({"query": "x", "filters": {"category": ["nonsense"]}}, "filters.category.0"),
        ({"query": "x", "filters": {"occurred_after": "2025-03-01"}}, "filters.occurred_after"),
        ({"query": "x", "filters": {"colour": "red"}}, "filters.colour"),
        ({"top_k": 3}, "query"),
    ],
)
def test_bad_search_input_gets_422_naming_the_field(client: TestClient, body: dict[str, object], field: str) -> None:
    response = client.post("/v1/search", json=body)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert field in [e["field"] for e in errors], errors
    assert all(e["reason"] for e in errors)
    assert "Traceback" not in response.text


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"model": "ok", "store": "ok", "broker": "ok"}

"""A store outage is a 503 with Retry-After, in the one error shape, on every endpoint that reads or
writes the store and in every search mode. An embedded store cannot be made to fail on demand, so
the real store is put behind FaultyStore's switch (tests/faults) inside an app on the real model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.settings import KnowledgeSettings
from service.app import create_app
from service.settings import AppSettings, ServiceSettings
from tests.conftest import local_client
from tests.faults.test_faults import FaultyStore


@pytest.fixture
def down(
    knowledge_settings: KnowledgeSettings, consumer_settings: ConsumerSettings, embedder: FastembedEmbedder
) -> Iterator[TestClient]:
    settings = AppSettings(service=ServiceSettings(run_consumer=False, live_notices=False),
                           knowledge=knowledge_settings, consumer=consumer_settings)  # fmt: skip
    with local_client(create_app(settings, embedder=embedder), raise_server_exceptions=False) as client:
        runtime = client.app_state["runtime"]
        assert client.post("/v1/notes", json={"information": "a note"}).status_code == 201
        runtime.store = FaultyStore(runtime.store)
        runtime.store.down = True
        yield client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/search", {"query": "x", "mode": "hybrid"}),
        ("POST", "/v1/search", {"query": "x", "mode": "semantic"}),
        ("POST", "/v1/search", {"query": "x", "mode": "keyword"}),
        ("POST", "/v1/search", {"query": "x", "fusion": "rrf"}),
        ("POST", "/v1/facets", {"query": "x"}),
        ("POST", "/v1/facets", {}),
        ("GET", "/v1/events/e-1", None),
        ("GET", "/v1/events/e-1/related", None),
        ("GET", "/v1/entities/player/p.ada/timeline", None),
        ("POST", "/v1/notes", {"information": "another note"}),
        ("DELETE", "/v1/notes/note:abc", None),
    ],
)
def test_every_endpoint_answers_503_while_the_store_is_down(
    down: TestClient, method: str, path: str, body: object
) -> None:
    response = down.request(method, path, json=body)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"]
    assert response.json()["error"] == "store_unavailable"
    assert all(set(e) == {"field", "reason"} for e in response.json()["errors"])


def test_a_live_subscription_that_needs_the_store_says_it_is_down(down: TestClient) -> None:
    """A `player_id` standing query reads the player's threads from the store when it subscribes."""
    stream = down.get("/v1/stream", params={"query": "x", "player_id": "p.ada"})
    assert stream.status_code == 503 and stream.json()["error"] == "store_unavailable"
    with down.websocket_connect("ws://127.0.0.1:8000/v1/subscribe") as websocket:
        websocket.send_json({"query": "x", "filters": {"player_id": "p.ada"}})
        message = websocket.receive_json()
        assert message["type"] == "error" and message["error"] == "store_unavailable", message
        assert set(message["errors"][0]) == {"field", "reason"}

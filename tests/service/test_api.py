"""The HTTP API in-process with its lifespan: model, embedded store and the in-process consumer."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.projector import project
from knowledge.settings import KnowledgeSettings
from schemas.events import GameEvent
from scripts.sample_season import season
from service.app import create_app
from service.settings import AppSettings, ServiceSettings
from tests.conftest import encode, local_client, produce, wait_for

EVENTS = list(season(60, seed=41))


@pytest.fixture
def client(
    knowledge_settings: KnowledgeSettings, consumer_settings: ConsumerSettings, embedder: FastembedEmbedder
) -> Iterator[TestClient]:
    asyncio.run(
        produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], [encode(e) for e in EVENTS])
    )
    settings = AppSettings(service=ServiceSettings(), knowledge=knowledge_settings, consumer=consumer_settings)
    with local_client(create_app(settings, embedder=embedder), raise_server_exceptions=False) as test_client:
        wait_for(
            lambda: test_client.post("/v1/facets", json={}).json()["total"] == len(EVENTS),
            60,
            "the in-process consumer to index the produced events",
        )
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
    assert missing.json()["errors"][0]["field"] == "event_id"


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


def test_related_events_exclude_the_event_and_honour_filters(client: TestClient) -> None:
    event_id = EVENTS[5]["event_id"]
    response = client.get(f"/v1/events/{event_id}/related", params={"top_k": 5})
    assert response.status_code == 200
    hits = response.json()["hits"]
    assert len(hits) == 5 and event_id not in {h["event_id"] for h in hits}
    press_only = client.get(f"/v1/events/{event_id}/related", params={"top_k": 5, "category": ["press"]}).json()
    assert press_only["hits"] and all(h["category"] == "press" for h in press_only["hits"])
    assert client.get("/v1/events/nope/related").status_code == 404


def test_timeline_pages_cover_every_event_once_in_time_order(client: TestClient) -> None:
    """A player's timeline: the events naming the player, and those of the expeditions and conferences
    the player took part in (a resolution names only the code)."""
    player = "p.ada"
    documents = {e["event_id"]: client.get(f"/v1/events/{e['event_id']}").json()["document"] for e in EVENTS}
    threads = {d["expedition_code"] for d in documents.values() if player in d["player_ids"]} - {None}
    expected = [
        e["event_id"]
        for e in sorted(EVENTS, key=lambda e: e["occurred_at"])
        if player in documents[e["event_id"]]["player_ids"] or documents[e["event_id"]]["expedition_code"] in threads
    ]
    seen: list[str] = []
    cursor = None
    for _ in range(50):
        params: dict[str, object] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/v1/entities/player/{player}/timeline", params=params).json()
        seen += [e["event_id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(expected) > 2
    assert seen == expected
    assert client.get(f"/v1/entities/player/{player}/timeline", params={"cursor": "!!"}).status_code == 422
    assert client.get("/v1/entities/planet/x/timeline").status_code == 422


def test_notes_are_stored_once_found_and_forgotten(client: TestClient) -> None:
    body = {"information": "Okafor distrusts industry patrons.", "metadata": {"scholar_id": "s.okafor"}}
    first = client.post("/v1/notes", json=body)
    second = client.post("/v1/notes", json=body)
    assert first.status_code == second.status_code == 201
    note_id = first.json()["event_id"]
    assert second.json()["event_id"] == note_id
    found = client.post(
        "/v1/search", json={"query": "who distrusts industry?", "filters": {"category": ["agent_note"]}}
    )
    assert [h["event_id"] for h in found.json()["hits"]] == [note_id]
    assert client.delete(f"/v1/notes/{note_id}").status_code == 204
    assert client.get(f"/v1/events/{note_id}").status_code == 404
    assert client.delete(f"/v1/notes/{EVENTS[0]['event_id']}").status_code == 404
    assert client.post("/v1/notes", json={"information": ""}).status_code == 422


def test_facets_count_by_category_action_and_player(client: TestClient) -> None:
    everything = client.post("/v1/facets", json={"limit": 100}).json()
    assert everything["total"] == len(EVENTS)
    assert everything["facets"]["action"] == dict(Counter(e["action"] for e in EVENTS))
    assert sum(everything["facets"]["category"].values()) == len(EVENTS)
    hits = client.post("/v1/facets", json={"query": "expedition results", "top_k": 10}).json()
    assert hits["total"] == 10 and sum(hits["facets"]["category"].values()) == 10
    # Counted among the hits search finds by default (hybrid), so a code counts the events naming it.
    documents = [project(GameEvent.model_validate(e)) for e in EVENTS]
    for code in {d.expedition_code for d in documents if d.expedition_code}:
        naming = [d for d in documents if code in d.content]
        coded = client.post("/v1/facets", json={"query": code, "top_k": len(naming), "limit": 100}).json()
        assert coded["facets"]["action"] == dict(Counter(d.action for d in naming)), code

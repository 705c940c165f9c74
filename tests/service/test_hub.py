"""The hub never lets one bad publication take the API down: vectors of another dimension (a notice
from a consumer running another model), non-finite numbers or vectors not of unit length are skipped,
the rest delivered; a closed hub ends every stream and takes no new subscriber."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from knowledge.projector import project
from schemas.events import GameEvent
from schemas.search import SearchFilters
from service.hub import QUEUE_SIZE, Hub, HubClosed, Subscription


def document(event_id: str):  # type: ignore[no-untyped-def]
    return project(
        GameEvent.model_validate(
            {"event_id": event_id, "action": "comet_sighted", "occurred_at": datetime(2025, 3, 1, tzinfo=UTC)}
        )
    )


async def test_unusable_vectors_are_skipped_and_the_rest_delivered() -> None:
    hub = Hub()
    subscription = hub.subscribe("q", [1.0, 0.0, 0.0], SearchFilters(), -1.0)
    documents = [document(n) for n in ("ten-dims", "nan", "huge", "infinite", "long", "good")]
    vectors = [[0.1] * 10, [float("nan"), 0.0, 0.0], [3e38, 3e38, 0.0], [1e300, 0.0, 0.0], [5.0, 0.0, 0.0],
               [1.0, 0.0, 0.0]]  # fmt: skip
    queued = hub.publish(documents, vectors)
    assert queued == 1
    message = json.loads(await subscription.next() or "null")
    assert message["event_id"] == "good" and message["type"] == "event" and message["score"] == 1.0
    assert message["indexed_at"] and message["occurred_at"] == "2025-03-01T00:00:00Z"


async def test_a_closed_hub_ends_streams_and_refuses_new_ones() -> None:
    hub = Hub()
    subscription = hub.subscribe("q", [1.0, 0.0], SearchFilters(), -1.0)
    hub.publish([document("a")], [[1.0, 0.0]])
    hub.close()
    first = json.loads(await subscription.next() or "null")
    assert first["event_id"] == "a", "what was queued before is still delivered"
    assert await subscription.next() is None
    assert await subscription.next() is None
    with pytest.raises(HubClosed):
        hub.subscribe("q", [1.0, 0.0], SearchFilters(), -1.0)


async def test_a_player_subscription_follows_the_threads_the_player_opens() -> None:
    """The dev season's own rows: teodor launches CONF-8494 (events:32); its resolution (events:73)
    names only the code. A live `player_id` subscription hears both, and nothing of another thread."""
    from scripts.dev_season import dev_season

    by_id = {e.event_id: project(e) for e in dev_season(200)}
    launched, resolved = by_id["events:32"], by_id["events:73"]
    assert "teodor" in launched.player_ids and resolved.player_ids == [] and resolved.expedition_code == "CONF-8494"
    other = next(d for d in by_id.values() if d.action == "conference_resolved" and d.expedition_code != "CONF-8494")
    hub = Hub()
    subscription = hub.subscribe("q", [1.0, 0.0, 0.0], SearchFilters(player_id="teodor"), -1.0)
    assert hub.publish([resolved], [[1.0, 0.0, 0.0]]) == 0, "before the launch, the code is not teodor's"
    assert hub.publish([launched, other, resolved], [[1.0, 0.0, 0.0]] * 3) == 2
    assert [json.loads(await subscription.next() or "{}").get("event_id") for _ in range(2)] == [
        "events:32",
        "events:73",
    ]


async def test_an_sse_burst_carries_the_same_messages_as_one_by_one() -> None:
    """`framed` (the SSE stream's one write per burst) and `next` (the WebSocket's one message at a
    time) say the same: a dropped count on the first message only, non-ASCII text escaped."""
    hub = Hub()
    one, burst = (hub.subscribe("q", [1.0, 0.0], SearchFilters(), -1.0) for _ in range(2))
    names = [*(f"e{n}" for n in range(QUEUE_SIZE + 3)), "ü-ñ"]
    hub.publish([document(n) for n in names], [[1.0, 0.0]] * len(names))
    written = burst.framed(QUEUE_SIZE, b"event: event\ndata: ", b"\n\n")
    frames = written.decode("ascii").split("\n\n")
    assert frames[-1] == "" and all(f.startswith("event: event\ndata: {") for f in frames[:-1])
    assert [json.loads(f.split("data: ", 1)[1]) for f in frames[:-1]] == [
        json.loads(await one.next() or "null") for _ in range(QUEUE_SIZE)
    ]
    first = json.loads(frames[0].split("data: ", 1)[1])
    last = json.loads(frames[-2].split("data: ", 1)[1])
    assert first["dropped_before"] == 4 and first["event_id"] == "e4" and last["event_id"] == "ü-ñ"
    assert "dropped_before" not in last
    assert burst.framed(QUEUE_SIZE, b"<", b">") == b"" and not burst.waiting


async def test_each_subscription_gets_exactly_its_matches_in_order_with_its_scores() -> None:
    """One batch, four subscriptions: one takes everything, one only what scores past its minimum, one
    only its category (none here), one a mix; each hears its own matches, in the batch's order."""
    hub = Hub()
    s = 2**-0.5
    vectors = [[1.0, 0.0], [s, s], [0.0, 1.0], [-s, s]]
    everything = hub.subscribe("q", [1.0, 0.0], SearchFilters(), -1.0)
    close = hub.subscribe("q", [1.0, 0.0], SearchFilters(), 0.5)
    elsewhere = hub.subscribe("q", [1.0, 0.0], SearchFilters.model_validate({"category": ["press"]}), -1.0)
    upward = hub.subscribe("q", [0.0, 1.0], SearchFilters.model_validate({"category": ["gamestate"]}), 0.5)
    assert hub.publish([document(f"d{n}") for n in range(4)], vectors) == 4 + 2 + 0 + 3

    def heard(subscription: Subscription) -> list[tuple[str, float]]:
        got = [json.loads(m) for m in subscription.ready(QUEUE_SIZE)]
        return [(m["event_id"], m["score"]) for m in got]

    assert heard(everything) == [("d0", 1.0), ("d1", 0.7071), ("d2", 0.0), ("d3", -0.7071)]
    assert heard(close) == [("d0", 1.0), ("d1", 0.7071)]
    assert heard(elsewhere) == []
    assert heard(upward) == [("d1", 0.7071), ("d2", 1.0), ("d3", 0.7071)]

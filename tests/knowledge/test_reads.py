"""No input can poison reads, on both real stores: a point that cannot be decoded is skipped (and
counted), never a failed request; timelines page through any number of events sharing a time; a
store outage is StoreUnavailable in every search mode (the API's 503), not an ExceptionGroup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from knowledge.embedder import FastembedEmbedder
from knowledge.errors import StoreUnavailable
from knowledge.metrics import UNREADABLE_POINTS
from knowledge.notes import forget_note, project_note, store_note
from knowledge.projector import project
from knowledge.search import FIRST_SLACK, BadCursor, get_event, related, search, timeline
from knowledge.sparse import bm25_of
from knowledge.store.base import KnowledgeStore
from knowledge.store.qdrant_edge import QdrantEdgeStore
from schemas import limits
from schemas.documents import DocumentBase
from schemas.events import GameEvent
from schemas.search import EntityKind, SearchFilters, SearchRequest
from tests.faults.test_faults import FaultyStore


async def put(store: KnowledgeStore, embedder: FastembedEmbedder, documents: list[DocumentBase]) -> None:
    vectors = await embedder.embed_documents([d.embedding_text for d in documents])
    sparse = [bm25_of(d) for d in documents]
    await store.upsert(documents, vectors, sparse)


def game_event(event_id: str, player: str, at: datetime, payload: dict[str, Any] | None = None) -> DocumentBase:
    return project(
        GameEvent.model_validate(
            {"event_id": event_id, "action": "table_talk_post", "occurred_at": at.isoformat(),
             "payload": {"player": player, "message": "the archive flooded", **(payload or {})}}
        )
    )  # fmt: skip


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"n": value}
    return value


async def test_a_point_nested_beyond_the_engines_reader_is_skipped_by_every_read_and_can_be_deleted(
    store: KnowledgeStore, embedder: FastembedEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written past the door (as before the door existed: its check is turned off here), straight
    into the real store."""
    monkeypatch.setattr(limits, "check", lambda value, path="": value)
    at = datetime(2025, 3, 1, tzinfo=UTC)
    good = game_event("good-1", "p.ada", at)
    poisoned = game_event("deep-1", "p.ada", at + timedelta(seconds=1), {"deep": nested(150)})
    note = project_note("A note nobody can read back.", {"player_id": "p.ada", "deep": nested(150)}, at)
    await put(store, embedder, [good, poisoned, note])
    before = UNREADABLE_POINTS._value.get()
    for mode in ("semantic", "keyword", "hybrid"):
        hits = (await search(embedder, store, SearchRequest(query="the archive flooded", mode=mode))).hits
        assert "good-1" in {h.event_id for h in hits}, mode
    page = await timeline(store, EntityKind.PLAYER, "p.ada", 10, None)
    assert "good-1" in {e.event_id for e in page.events}
    near = await related(store, "good-1", 5, SearchFilters())
    assert near is not None and "good-1" not in {h.event_id for h in near}
    assert await get_event(store, "good-1") is not None
    await get_event(store, "deep-1")  # answers (None on the engine that cannot read it back)
    assert await forget_note(store, note.event_id) == "forgot", "an unreadable note can still be forgotten"
    assert await store.count() == 2
    if isinstance(store, QdrantEdgeStore):  # the engine whose reader has the recursion limit
        assert UNREADABLE_POINTS._value.get() > before


async def test_a_timeline_pages_through_500_events_sharing_one_time_with_a_small_cursor_either_way(
    store: KnowledgeStore, embedder: FastembedEmbedder
) -> None:
    at = datetime(2025, 3, 1, tzinfo=UTC)
    documents = [game_event(f"tie-{i:03d}", "p.tie", at) for i in range(500)]
    documents += [game_event(f"later-{i}", "p.tie", at + timedelta(seconds=i + 1)) for i in range(5)]
    documents += [game_event("earlier", "p.tie", at - timedelta(seconds=1))]
    for start in range(0, len(documents), 128):
        await put(store, embedder, documents[start : start + 128])
    expected = ["earlier", *sorted(f"tie-{i:03d}" for i in range(500)), *(f"later-{i}" for i in range(5))]
    for order, wanted in (("oldest", expected), ("newest", expected[::-1])):
        seen: list[str] = []
        cursor = None
        longest = 0
        for _ in range(100):
            page = await timeline(store, EntityKind.PLAYER, "p.tie", 7, cursor, order)  # type: ignore[arg-type]
            seen += [e.event_id for e in page.events]
            cursor = page.next_cursor
            longest = max(longest, len(cursor or ""))
            if cursor is None:
                break
            last_cursor = cursor
        assert seen == wanted, order
        assert longest < 200
    with pytest.raises(BadCursor, match="other order"):  # a newest-first cursor on an oldest-first read
        await timeline(store, EntityKind.PLAYER, "p.tie", 7, last_cursor, "oldest")


async def test_more_repeats_than_the_first_read_leaves_room_for_still_give_top_k_distinct_hits(
    store: KnowledgeStore, embedder: FastembedEmbedder
) -> None:
    """A search reads `top_k + FIRST_SLACK` candidates first; when repeats of one happening take more
    room than that, it reads again with the whole slack, in every mode and for related events."""
    at = datetime(2025, 3, 1, tzinfo=UTC)
    repeats = [game_event(f"twin-{n}", "p.ada", at) for n in range(FIRST_SLACK + 4)]  # one post, written 6 times
    others = [game_event(f"other-{n}", "p.ada", at + timedelta(minutes=n + 1),
                         {"message": f"the archive flooded again, room {n}"}) for n in range(12)]  # fmt: skip
    await put(store, embedder, repeats + others)
    for mode in ("hybrid", "semantic", "keyword"):
        request = SearchRequest.model_validate({"query": "the archive flooded", "top_k": 8, "mode": mode})
        found = [h.event_id for h in (await search(embedder, store, request)).hits]
        assert len(found) == 8 and sum(i.startswith("twin-") for i in found) == 1, (mode, found)
    near = await related(store, "twin-0", 8, SearchFilters())  # its repeats are the nearest: the same vector
    assert near is not None and len(near) == 8, near
    assert sum(h.event_id.startswith("twin-") for h in near) == 1 and "twin-0" not in {h.event_id for h in near}


@pytest.mark.parametrize(
    "cursor",
    ['{"ts": NaN, "after": "x"}', '{"ts": ' + "9" * 400 + ', "after": "x"}', '{"ts": true, "after": "x"}',
     '{"a":' * 5000 + "1" + "}" * 5000, '{"ts": 1.0, "after": ["x"]}', '"just a string"', "not json"],
)  # fmt: skip
async def test_a_cursor_this_service_did_not_make_is_refused(store: KnowledgeStore, cursor: str) -> None:
    import base64

    token = base64.urlsafe_b64encode(cursor.encode()).decode()
    with pytest.raises(BadCursor):
        await timeline(store, EntityKind.PLAYER, "p.x", 5, token)


@pytest.mark.parametrize("mode", ["semantic", "keyword", "hybrid"])
async def test_a_store_outage_is_store_unavailable_in_every_mode(
    store: KnowledgeStore, embedder: FastembedEmbedder, mode: str
) -> None:
    await store_note(embedder, store, "something to find")
    faulty = FaultyStore(store)
    faulty.down = True
    with pytest.raises(StoreUnavailable):
        await search(embedder, faulty, SearchRequest(query="something", mode=mode))  # type: ignore[arg-type]

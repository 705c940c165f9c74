"""One contract, both stores: Qdrant Edge (embedded) and AsyncQdrantClient (here in local mode)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
import pytest

from knowledge.embedder import FastembedEmbedder
from knowledge.errors import ModelMismatch, StoreRejected, StoreUnavailable
from knowledge.projector import point_id, project
from knowledge.runtime import identity_of
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import bm25_of, each_term, encoder
from knowledge.store.base import (
    Candidates,
    CollectionIdentity,
    KeywordHits,
    KnowledgeStore,
    ScoredPayload,
    conditions,
    holds,
)
from knowledge.store.qdrant_edge import QdrantEdgeStore
from schemas.documents import Category, DocumentBase
from schemas.events import GameEvent
from schemas.search import SearchFilters
from scripts.sample_season import season

EVENTS = [GameEvent.model_validate(e) for e in season(80, seed=9)]


async def fill(store: KnowledgeStore, embedder: FastembedEmbedder) -> None:
    documents = [project(e) for e in EVENTS]
    await store.upsert(documents, await embedder.embed_documents([d.embedding_text for d in documents]))


async def test_upsert_is_idempotent_by_event_id(store: KnowledgeStore, embedder: FastembedEmbedder) -> None:
    await fill(store, embedder)
    await fill(store, embedder)
    assert await store.count() == len(EVENTS)


async def test_every_filter_selects_exactly_the_matching_documents(
    store: KnowledgeStore, embedder: FastembedEmbedder
) -> None:
    await fill(store, embedder)
    documents = [project(e) for e in EVENTS]
    cut = EVENTS[40].occurred_at
    code = next(d.expedition_code for d in documents if d.expedition_code)
    scholar = next(d.scholar_ids[0] for d in documents if d.scholar_ids)
    cases: list[tuple[SearchFilters, Callable[[DocumentBase], bool]]] = [
        (SearchFilters(category=[Category.EXPEDITION]), lambda d: d.category is Category.EXPEDITION),
        (
            SearchFilters(action=["press_release", "submit_theory"]),
            lambda d: d.action in {"press_release", "submit_theory"},
        ),
        (SearchFilters(player_id="p.ada"), lambda d: "p.ada" in d.player_ids),
        (SearchFilters(scholar_id=scholar), lambda d: scholar in d.scholar_ids),
        (SearchFilters(expedition_code=code), lambda d: d.expedition_code == code),
        (SearchFilters(occurred_after=cut), lambda d: d.occurred_at >= cut),
        (
            SearchFilters(occurred_before=cut, category=[Category.PRESS]),
            lambda d: d.occurred_at < cut and d.category is Category.PRESS,
        ),
        (SearchFilters(game_year=57), lambda d: d.game_year == 57),
    ]
    vector = await embedder.embed_query("anything")
    for filters, matches in cases:
        expected = {d.event_id for d in documents if matches(d)}
        assert expected, filters
        in_memory = {d.event_id for d in documents if all(holds(c, d) for c in conditions(filters))}
        assert in_memory == expected, f"live subscriptions would judge {filters} otherwise"
        hits = await store.search(vector, filters, limit=100)
        assert {h.payload["event_id"] for h in hits} == expected, filters
        assert await store.count(filters) == len(expected)


async def test_search_orders_by_meaning(store: KnowledgeStore, embedder: FastembedEmbedder) -> None:
    await fill(store, embedder)
    hits = await store.search(await embedder.embed_query("a new year begins on the calendar"), SearchFilters(), 3)
    assert hits[0].payload["action"] in {"timeline_advanced", "press_release"}
    assert "year" in hits[0].payload["content"].lower()
    assert hits[0].score >= hits[1].score >= hits[2].score


async def test_retrieve_returns_the_stored_payload(store: KnowledgeStore, embedder: FastembedEmbedder) -> None:
    await fill(store, embedder)
    [payload] = await store.retrieve([point_id(EVENTS[5].event_id)])
    assert payload["payload"] == EVENTS[5].payload
    assert datetime.fromisoformat(payload["occurred_at"]) == EVENTS[5].occurred_at
    assert await store.retrieve([point_id("absent")]) == []
    await store.ping()


async def fill_with_bm25(store: KnowledgeStore, embedder: FastembedEmbedder) -> list[DocumentBase]:
    documents = [project(e) for e in EVENTS]
    vectors = await embedder.embed_documents([d.embedding_text for d in documents])
    await store.upsert(documents, vectors, [bm25_of(d) for d in documents])
    return documents


async def test_keyword_search_bounds_what_any_document_could_score(
    store: KnowledgeStore, embedder: FastembedEmbedder
) -> None:
    await fill_with_bm25(store, embedder)
    query = encoder().query("expedition returned with a discovery")
    found = await store.keyword_search(query, SearchFilters(), 10)
    assert found.hits and all(not h.payload for h in found.hits), "the hits come without payloads"
    assert [h.id for h in found.hits] == [h.id for h in await store.search(query, SearchFilters(), 10)]
    each = [await store.search(term, SearchFilters(), 1) for term in each_term(query)]
    assert found.bound == pytest.approx(sum(best[0].score for best in each if best))
    assert found.hits[0].score <= found.bound
    # The bound is the collection's, whatever the filters: a filtered one-term search per word would
    # cost as much as the search (base.KeywordHits).
    scholars = SearchFilters(category=[Category.SCHOLAR])
    filtered = await store.keyword_search(query, scholars, 10)
    among_scholars = [await store.search(term, scholars, 1) for term in each_term(query)]
    assert sum(best[0].score for best in among_scholars if best) < found.bound, "the filter would change it"
    assert filtered.bound == pytest.approx(found.bound)
    assert [h.id for h in filtered.hits] == [h.id for h in await store.search(query, scholars, 10)]
    nothing = await store.keyword_search(encoder().query("zzyzx"), SearchFilters(), 10)
    assert nothing == KeywordHits([], 0.0)


async def test_hybrid_then_read_scores_each_list_on_the_others_hits_and_reads_the_chosen(
    store: KnowledgeStore, embedder: FastembedEmbedder
) -> None:
    await fill_with_bm25(store, embedder)
    text = "a scholar was promoted"
    vector, sparse = await embedder.embed_query(text), encoder().query(text)
    keyword = await store.keyword_search(sparse, SearchFilters(), 5)
    offered: list[Candidates] = []

    def choose(found: Candidates) -> list[ScoredPayload]:
        offered.append(found)
        absent = ScoredPayload(str(point_id("absent")), 1.0, {})
        return [ScoredPayload(found.dense[3].id, 0.9, {}), absent, ScoredPayload(found.keyword.hits[0].id, 0.1, {})]

    chosen = await store.hybrid_then_read(vector, sparse, keyword, SearchFilters(), 10, choose)
    [found] = offered
    dense = await store.search(vector, SearchFilters(), 10, with_payload=False)
    assert [d.id for d in found.dense] == [d.id for d in dense]
    assert [d.score for d in found.dense] == pytest.approx([d.score for d in dense])
    assert found.keyword == keyword
    everything = {h.id: h.score for h in await store.search(vector, SearchFilters(), len(EVENTS))}
    assert found.cosines == pytest.approx({h.id: everything[h.id] for h in keyword.hits}), "each keyword hit's cosine"
    matched = {h.id: h.score for h in await store.search(sparse, SearchFilters(), len(EVENTS))}
    outside = {d.id: matched[d.id] for d in found.dense if d.id in matched and d.id not in found.cosines}
    assert found.bm25 == pytest.approx(outside), "the BM25 score of each dense hit that has one, not a keyword hit"
    assert [(c.id, c.score) for c in chosen] == [(found.dense[3].id, 0.9), (keyword.hits[0].id, 0.1)], "absent left out"
    assert all(str(point_id(c.payload["event_id"])) == c.id for c in chosen)
    assert await store.hybrid_then_read(vector, sparse, keyword, SearchFilters(), 10, lambda found: []) == []


async def test_search_like_is_the_search_by_the_points_stored_vector(
    store: KnowledgeStore, embedder: FastembedEmbedder
) -> None:
    await fill(store, embedder)
    target = point_id(EVENTS[7].event_id)
    vector = await store.vector(target)
    assert vector is not None
    for filters in (SearchFilters(), SearchFilters(category=[Category.PRESS])):
        like = await store.search_like(target, filters, 10)
        plain = await store.search(vector, filters, 10)
        assert like is not None and len(like) == 10, filters
        assert [(h.id, h.payload) for h in like] == [(h.id, h.payload) for h in plain], filters
    nearest = await store.search_like(target, SearchFilters(), 10)
    assert nearest is not None and str(target) in {h.id for h in nearest if h.score > 0.999}, "itself, at the top"
    assert await store.search_like(point_id("absent"), SearchFilters(), 10) is None


async def test_a_collection_refuses_vectors_of_another_model(
    knowledge_settings: KnowledgeSettings, embedder: FastembedEmbedder
) -> None:
    async with QdrantEdgeStore.open(knowledge_settings) as first:
        await first.ensure_collection(CollectionIdentity(embedder.model_id, embedder.dim, embedder.vector_name))
    other = CollectionIdentity("other/model-v2", 384, embedder.vector_name)
    async with QdrantEdgeStore.open(knowledge_settings) as second:
        with pytest.raises(ModelMismatch, match="model-v2"):
            await second.ensure_collection(other)


async def test_server_collection_refuses_another_model(
    embedder: FastembedEmbedder, knowledge_settings: KnowledgeSettings
) -> None:
    from knowledge.store.qdrant_server import QdrantServerStore

    settings = knowledge_settings.model_copy(
        update={"store_backend": "qdrant", "qdrant_local_path": knowledge_settings.data_dir / "local"}
    )
    async with QdrantServerStore.open(settings) as first:
        await first.ensure_collection(CollectionIdentity(embedder.model_id, embedder.dim, embedder.vector_name))
    async with QdrantServerStore.open(settings) as second:
        with pytest.raises(ModelMismatch):
            await second.ensure_collection(CollectionIdentity("other/model", 384, embedder.vector_name))
        with pytest.raises(ModelMismatch):
            await second.ensure_collection(CollectionIdentity(embedder.model_id, 768, embedder.vector_name))


async def test_edge_store_indexes_every_filter_field(
    knowledge_settings: KnowledgeSettings, embedder: FastembedEmbedder
) -> None:
    from qdrant_edge import EdgeShard

    from knowledge.store.base import PAYLOAD_INDEXES

    async with QdrantEdgeStore.open(knowledge_settings) as opened:
        await opened.ensure_collection(CollectionIdentity(embedder.model_id, embedder.dim, embedder.vector_name))
    shard = EdgeShard.load(str(knowledge_settings.edge_path))
    try:
        assert set(shard.info().payload_schema) == set(PAYLOAD_INDEXES)
    finally:
        shard.close()


_SEARCH_POOL = """
import asyncio, os, sys
from knowledge.settings import KnowledgeSettings
from knowledge.store.base import CollectionIdentity
from knowledge.store.qdrant_edge import QdrantEdgeStore
from schemas.search import SearchFilters

async def main() -> None:
    model, dim, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    async with QdrantEdgeStore.open(KnowledgeSettings()) as store:
        await store.ensure_collection(CollectionIdentity(model, dim, name))
        await store.search([1.0] + [0.0] * (dim - 1), SearchFilters(), 3)
        names = [open(f"/proc/self/task/{t}/comm").read() for t in os.listdir("/proc/self/task")]
        print(sum(n.startswith("edge-search") for n in names))

asyncio.run(main())
"""


@pytest.mark.parametrize("threads", [None, 3])
def test_the_edge_search_pool_has_the_configured_threads_also_in_a_shard_made_before(
    knowledge_settings: KnowledgeSettings, embedder: FastembedEmbedder, threads: int | None
) -> None:
    """A shard made with Edge's default search pool (8 threads here), as this service made them before
    EDGE_SEARCH_THREADS, is served with EDGE_SEARCH_THREADS threads (default 1); measured in a process of
    its own, as the pool is per process."""
    import os
    import subprocess
    import sys

    from qdrant_edge import Distance, EdgeConfig, EdgeShard, EdgeVectorParams

    vectors = {embedder.vector_name: EdgeVectorParams(size=embedder.dim, distance=Distance.Cosine)}
    EdgeShard.create(str(knowledge_settings.edge_path), EdgeConfig(vectors=vectors)).close()
    env = {**os.environ, "DATA_DIR": str(knowledge_settings.data_dir),
           "COLLECTION_NAME": knowledge_settings.collection_name}  # fmt: skip
    env.pop("EDGE_SEARCH_THREADS", None)
    if threads is not None:
        env["EDGE_SEARCH_THREADS"] = str(threads)
    arguments = [embedder.model_id, str(embedder.dim), embedder.vector_name]
    ran = subprocess.run([sys.executable, "-c", _SEARCH_POOL, *arguments], env=env, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert int(ran.stdout.strip()) == (threads or 1)


async def test_edge_optimize_keeps_every_point_and_the_answers(
    knowledge_settings: KnowledgeSettings, embedder: FastembedEmbedder
) -> None:
    async with QdrantEdgeStore.open(knowledge_settings) as edge:
        await edge.ensure_collection(CollectionIdentity(embedder.model_id, embedder.dim, embedder.vector_name))
        await fill(edge, embedder)
        query = await embedder.embed_query("a scholar changes sides")
        before = [h.payload["event_id"] for h in await edge.search(query, SearchFilters(), 5)]
        await edge.optimize()
        assert edge.info()["points"] == len(EVENTS)
        assert [h.payload["event_id"] for h in await edge.search(query, SearchFilters(), 5)] == before


async def test_facets_count_exactly(store: KnowledgeStore, embedder: FastembedEmbedder) -> None:
    from collections import Counter

    await fill(store, embedder)
    documents = [project(e) for e in EVENTS]
    assert await store.facet("category", SearchFilters(), 10) == dict(Counter(d.category.value for d in documents))
    players = Counter(p for d in documents if d.category is Category.PRESS for p in d.player_ids)
    assert await store.facet("player_ids", SearchFilters(category=[Category.PRESS]), 100) == dict(players)


async def test_keyword_and_hybrid_modes_find_exact_codes_and_names(
    store: KnowledgeStore, embedder: FastembedEmbedder
) -> None:
    from knowledge.search import search
    from schemas.search import SearchRequest

    documents = [project(e) for e in EVENTS]
    vectors = await embedder.embed_documents([d.embedding_text for d in documents])
    await store.upsert(documents, vectors, [bm25_of(d) for d in documents])
    code = next(d.expedition_code for d in documents if d.expedition_code)
    with_code = {d.event_id for d in documents if code in d.content}
    keyword = await search(embedder, store, SearchRequest(query=code, mode="keyword", top_k=len(with_code)))
    assert {h.event_id for h in keyword.hits} == with_code
    question = f"what happened to expedition {code}"
    hybrid = await search(embedder, store, SearchRequest(query=question, top_k=len(with_code)))
    assert {h.event_id for h in hybrid.hits} == with_code, "BM25 lifts exactly the documents naming the code"
    assert all(0 < h.score <= 1 for h in hybrid.hits), "0.3 x cosine + 0.7 x BM25 / best BM25"
    by_rank = await search(embedder, store, SearchRequest(query=question, top_k=5, fusion="rrf"))
    assert by_rank.hits[0].event_id in with_code
    assert all(0 < h.score < 0.05 for h in by_rank.hits), "reciprocal-rank sums, not similarities"


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, StoreRejected), (413, StoreRejected), (422, StoreRejected), (408, StoreUnavailable),
     (429, StoreUnavailable), (500, StoreUnavailable), (503, StoreUnavailable)],
)  # fmt: skip
async def test_a_qdrant_server_refusal_is_final_and_an_outage_is_retried(status: int, expected: type) -> None:
    """How the server store classifies a server's answer. No Qdrant server can run here, so the
    client's own exception for such an answer is raised into the store's call wrapper; what a real
    server answers to which request is not covered on this machine."""
    from qdrant_client import AsyncQdrantClient
    from qdrant_client.http.exceptions import UnexpectedResponse

    from knowledge.store.qdrant_server import QdrantServerStore

    async def answer() -> None:
        raise UnexpectedResponse(status, "x", b'{"status": {"error": "Payload too large"}}', httpx.Headers())

    store = QdrantServerStore(AsyncQdrantClient(location=":memory:"), "c", 1.0)
    with pytest.raises(expected):
        await store._call(answer())
    await store.close()


async def test_the_embedded_engine_refuses_what_it_cannot_hold_as_store_rejected(
    embedder: FastembedEmbedder, knowledge_settings: KnowledgeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value past the door's limits (turned off here), in the real Qdrant Edge: StoreRejected, so
    the consumer dead-letters the record instead of retrying it forever."""
    from schemas import limits

    monkeypatch.setattr(limits, "check", lambda value, path="": value)
    event = GameEvent.model_validate({"event_id": "huge", "action": "x", "occurred_at": "2025-03-01T00:00:00Z",
                                      "payload": {"n": 10**400}})  # fmt: skip
    async with QdrantEdgeStore.open(knowledge_settings) as edge_store:
        await edge_store.ensure_collection(identity_of(embedder))
        with pytest.raises(StoreRejected):
            await edge_store.upsert([project(event)], [[0.1] * embedder.dim])
        assert await edge_store.count() == 0


async def test_a_server_write_never_replaces_a_newer_version_even_without_the_pipelines_check(
    embedder: FastembedEmbedder,
) -> None:
    """A zombie consumer whose version check passed before the partition's new owner wrote the newer
    version: its write reaches the server store last, and must change nothing. Local mode evaluates
    the same conditional upsert (`update_filter`) a server does; a server itself cannot be had here."""
    from knowledge.store.qdrant_server import QdrantServerStore
    from schemas.documents import KafkaSource

    settings = KnowledgeSettings(store_backend="qdrant", qdrant_url=":memory:", collection_name="versions")
    event = EVENTS[3]

    def at(offset: int, partition: int = 0, note: str = "") -> DocumentBase:
        document = project(event, KafkaSource(topic="events", partition=partition, offset=offset, timestamp_ms=0))
        return document.model_copy(update={"content": f"{document.content} {note}".strip()})

    async def write(document: DocumentBase) -> None:
        await store.upsert([document], await embedder.embed_documents([document.embedding_text]))

    async def stored_offset() -> object:
        [payload] = await store.retrieve([point_id(event.event_id)])
        return payload["source"]["offset"], payload["content"]

    async with QdrantServerStore.open(settings) as store:
        await store.ensure_collection(identity_of(embedder))
        await write(at(10))
        await write(at(5, note="older"))  # an older record of the same partition: refused by the store
        assert await stored_offset() == (10, at(10).content)
        await write(at(10, note="replayed"))  # the same record again (a replay with a newer projector)
        assert await stored_offset() == (10, at(10, note="replayed").content)
        await write(at(12))  # a newer one
        assert (await stored_offset())[0] == 12
        earlier = at(99).model_copy(update={"occurred_at_ts": at(99).occurred_at_ts - 1})
        await write(earlier)  # happened earlier: refused whatever its offset
        assert (await stored_offset())[0] == 12
        await write(at(3, partition=1, note="other partition"))  # same time, another partition: not older
        assert (await stored_offset())[0] == 3

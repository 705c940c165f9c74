"""The read path: a query in words -> its vector -> the store -> hits. Used by the API and agent tools."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from knowledge.embedder import Embedder
from knowledge.fusion import CANDIDATES, SIDE_ASKED_BONUS, SIDE_ASKED_POOL, asks_for_news, dense_weight, fuse
from knowledge.projector import point_id
from knowledge.sparse import encoder
from knowledge.store.base import Candidates, KnowledgeStore, ScoredPayload, skip_unreadable
from schemas import limits
from schemas.events import MAX_EVENT_ID_CHARS
from schemas.search import (
    FACET_FIELDS,
    EntityKind,
    FacetRequest,
    FacetResponse,
    Fusion,
    Mode,
    SearchFilters,
    SearchHit,
    SearchRequest,
    SearchResponse,
    StoredDocument,
    TimelineOrder,
    TimelinePage,
)


class BadCursor(ValueError):
    """A timeline cursor that this service did not make."""


def _fields(payload: dict[str, Any]) -> dict[str, Any]:
    """What the API shows of a stored point's payload (KeyError when it is not one of our documents)."""
    return {
        "event_id": payload["event_id"],
        "category": payload["category"],
        "action": payload["action"],
        "occurred_at": payload["occurred_at"],
        "title": payload.get("title", ""),
        "content": payload.get("content", ""),
        "payload": payload.get("payload") or {},
        "document": payload,
    }


def stored_document(payload: dict[str, Any]) -> StoredDocument:
    """A stored point's payload as the API shows it."""
    return StoredDocument(**_fields(payload))


#: What `_readable` makes of a payload: a stored document, or a hit (one with a score).
D = TypeVar("D", bound=StoredDocument)


def _readable(payload: dict[str, Any], point: str, shape: type[D], **extra: Any) -> D | None:
    """The payload as a `shape` (with `extra` fields), or None (logged and counted) when it is not a
    document this service wrote."""
    try:
        return shape(**_fields(payload), **extra)
    except (KeyError, ValidationError) as exc:
        skip_unreadable(point, exc)
        return None


def _hits(found: list[ScoredPayload]) -> list[SearchHit]:
    """Each hit validated once, straight from its payload."""
    hits = (_readable(f.payload, f.id, SearchHit, score=f.score) for f in found)
    return [hit for hit in hits if hit is not None]


_DEFAULT_MODE: Mode = SearchRequest.model_fields["mode"].default
_DEFAULT_FUSION: Fusion = SearchRequest.model_fields["fusion"].default


#: Most threads (expedition and conference codes) a `player_id` filter follows.
MAX_THREADS = 500
#: Extra candidates read so that dropping repeated documents still leaves `top_k` hits: `FIRST_SLACK`
#: at first, and `REPEAT_SLACK` only when repeats took more than that (rare). Each payload read costs
#: about 10 us of the embedded store's time (it makes the Python objects), all of it under the GIL. Measured
#: interleaved against reading `REPEAT_SLACK` always (10k events, 8 clients over HTTP, 5-6 rounds):
#: related events 350 -> 390 calls/s, p99 46 -> 42 ms; hybrid searches 234 -> 248 a second.
FIRST_SLACK = 2
REPEAT_SLACK = 10


async def with_threads(store: KnowledgeStore, filters: SearchFilters) -> SearchFilters:
    """`filters` whose `player_id` also reaches the events of the threads the player took part in: a
    conference's resolution and much expedition press name only the code, while the event that opened
    the thread names the player. One facet call, only when `player_id` is set."""
    if not filters.player_id:
        return filters
    codes = await store.facet("expedition_code", SearchFilters(player_id=filters.player_id), MAX_THREADS)
    return filters.with_thread_codes(tuple(sorted(codes)))


def _repeats_dropped(found: list[ScoredPayload]) -> list[ScoredPayload]:
    """The hits without a later one that says exactly what a better one said (the game writes some
    actions twice for one happening, e.g. `expedition_queued`, with the same time stamp): same action,
    same title, same content, same moment to the second."""
    seen: set[tuple[object, ...]] = set()
    kept = []
    for hit in found:
        key = tuple(hit.payload.get(k) for k in ("action", "title", "content", "occurred_at_ts"))
        if key not in seen:
            seen.add(key)
            kept.append(hit)
    return kept


#: Reads the `n` best candidates with their payloads, best first (None: there is nothing to read from).
Read = Callable[[int], Awaitable[list[ScoredPayload] | None]]


async def _best_without_repeats(read: Read, top_k: int, first: int, most: int) -> list[ScoredPayload] | None:
    """The `top_k` best of what `read` finds, without repeats: `first` candidates read, and `most` only
    when repeats left fewer than `top_k` of them while the store may hold more."""
    wanted = first
    while True:
        found = await read(wanted)
        if found is None:
            return None
        kept = _repeats_dropped(found)
        if len(kept) >= top_k or len(found) < wanted or wanted >= most:
            return kept[:top_k]
        wanted = most


async def search(embedder: Embedder, store: KnowledgeStore, request: SearchRequest) -> SearchResponse:
    """Search with filters, best first, in the request's mode; optionally weighted by recency; a hit
    that repeats a better one word for word is left out."""
    filters = await with_threads(store, request.filters)
    half_life = request.recency_half_life_days

    async def read(wanted: int) -> list[ScoredPayload]:
        found = await _find(embedder, store, request.query, filters, wanted, request.mode, request.fusion)
        return _weight_by_recency(found, half_life) if half_life and found else found

    top_k = request.top_k
    # recency re-ranks three times `top_k` candidates, the whole slack among them
    first = top_k * 3 + REPEAT_SLACK if half_life else top_k + FIRST_SLACK
    best = await _best_without_repeats(read, top_k, first, max(first, top_k + REPEAT_SLACK))
    return SearchResponse(query=request.query, hits=_hits(best or []))


async def _find(
    embedder: Embedder,
    store: KnowledgeStore,
    query: str,
    filters: SearchFilters,
    wanted: int,
    mode: Mode,
    fusion: Fusion,
) -> list[ScoredPayload]:
    """The `wanted` best matches of `query` in `mode`, with payloads."""
    if mode == "keyword":
        return await store.search(encoder().query(query), filters, wanted)
    if mode == "semantic":
        return await store.search(await embedder.embed_query(query), filters, wanted)
    return await _hybrid(embedder, store, query, filters, wanted, fusion)


async def _hybrid(
    embedder: Embedder, store: KnowledgeStore, query: str, filters: SearchFilters, wanted: int, fusion: Fusion
) -> list[ScoredPayload]:
    """Both lists (ids and scores only), fused; then the payloads of the `wanted` best. The dense
    search, the fusion and the reading of payloads are one call of the store (one thread hand-off
    in the embedded store); BM25 runs beside the query's embedding."""
    limit = max(CANDIDATES, wanted)
    weight = dense_weight(query, embedder.model_id)
    pool = max(wanted, SIDE_ASKED_POOL) if fusion == "score" else wanted
    try:
        async with asyncio.TaskGroup() as group:  # BM25 runs in the store while the query is embedded
            embedding = group.create_task(embedder.embed_query(query))
            await asyncio.sleep(0)  # the embedder takes the query, or refuses it at once (Overloaded) ...
            if embedding.done() and embedding.exception() is not None:
                raise embedding.exception()  # type: ignore[misc]  # ... and then no BM25 work is started
            sparse = encoder().query(query)
            keyword = group.create_task(store.keyword_search(sparse, filters, limit))
            vector = await embedding
            keyword_hits = await keyword

            def best(found: Candidates) -> list[ScoredPayload]:
                fused = fuse(found.dense, found.keyword.hits, fusion, weight, pool,
                             cosines=found.cosines, bm25=found.bm25, bound=found.keyword.bound)  # fmt: skip
                return [ScoredPayload(f.id, f.score, {}) for f in fused]

            chosen = await store.hybrid_then_read(vector, sparse, keyword_hits, filters, limit, best)
    except ExceptionGroup as failed:  # callers handle the error itself (StoreUnavailable: 503), not a group
        raise first_error(failed) from None
    return _side_asked_first(query, chosen)[:wanted] if fusion == "score" else chosen


def _side_asked_first(query: str, found: list[ScoredPayload]) -> list[ScoredPayload]:
    """The hits re-ranked with `SIDE_ASKED_BONUS` added to those of the side the query asks for: press
    releases when it asks for the news, the events and notes otherwise; each score is then divided by
    `1 + SIDE_ASKED_BONUS`, so a fused score stays between 0 and 1. An event and the press release
    about it lie close in the model's space, and the press release often repeats more of the query's
    words; the query's own words say which of the two is wanted."""
    news, scale = asks_for_news(query), 1 + SIDE_ASKED_BONUS
    lifted = [
        ScoredPayload(f.id, (f.score + SIDE_ASKED_BONUS * ((f.payload.get("category") == "press") == news)) / scale,
                      f.payload)
        for f in found
    ]  # fmt: skip
    return sorted(lifted, key=lambda f: f.score, reverse=True)


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first exception of a (possibly nested) group."""
    first = group.exceptions[0]
    return first_error(first) if isinstance(first, BaseExceptionGroup) else first


def _weight_by_recency(found: list[ScoredPayload], half_life_days: float) -> list[ScoredPayload]:
    """Scale each score by 0.5 ** (age / half-life), age counted from the newest hit; re-rank."""
    newest = max(f.payload.get("occurred_at_ts", 0.0) for f in found)
    half_life_s = half_life_days * 86_400
    weighted = [
        ScoredPayload(
            f.id, f.score * 0.5 ** ((newest - f.payload.get("occurred_at_ts", newest)) / half_life_s), f.payload
        )
        for f in found
    ]
    return sorted(weighted, key=lambda f: f.score, reverse=True)


async def related(store: KnowledgeStore, event_id: str, top_k: int, filters: SearchFilters) -> list[SearchHit] | None:
    """Events nearest to `event_id` by its stored vector, itself excluded; None if it is not indexed."""
    point, filters = point_id(event_id), await with_threads(store, filters)

    async def read(wanted: int) -> list[ScoredPayload] | None:
        found = await store.search_like(point, filters, wanted + 1)  # (itself, most likely first)
        return None if found is None else [f for f in found if f.payload.get("event_id") != event_id][:wanted]

    best = await _best_without_repeats(read, top_k, top_k + FIRST_SLACK, top_k + REPEAT_SLACK)
    return None if best is None else _hits(best)


#: Most events sharing one timestamp that a timeline pages through (the game writes a few per second).
MAX_TIES = 10_000


def _encode_cursor(ts: float, after: str, newest_first: bool) -> str:
    data = {"ts": ts, "after": after, **({"newest_first": True} if newest_first else {})}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def _decode_cursor(cursor: str, newest_first: bool) -> tuple[float, str]:
    """(timestamp, event id) of the last event returned: the next page starts after it (a cursor of
    the other order is refused: it would skip or repeat events)."""
    refused = BadCursor("cursor is not one this service returned")
    try:
        data = limits.parse(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError):  # UnsafeJson is a ValueError
        raise refused from None
    if not isinstance(data, dict):
        raise refused
    ts, after = data.get("ts"), data.get("after")
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not -1e12 < ts < 1e12:
        raise refused
    if not isinstance(after, str) or len(after) > MAX_EVENT_ID_CHARS:
        raise refused
    if data.get("newest_first", False) is not newest_first:
        raise BadCursor("cursor belongs to a timeline read in the other order")
    return float(ts), after


def _beyond(event_id: str, after: str, newest_first: bool) -> bool:
    """Whether an event sharing the cursor's time comes after the cursor's event in this order."""
    return event_id < after if newest_first else event_id > after


def _in_order(payloads: list[dict[str, Any]], newest_first: bool) -> list[dict[str, Any]]:
    key = lambda p: (p.get("occurred_at_ts", 0.0), str(p.get("event_id", "")))  # noqa: E731
    return sorted(payloads, key=key, reverse=newest_first)


async def timeline(
    store: KnowledgeStore,
    kind: EntityKind,
    entity_id: str,
    limit: int,
    cursor: str | None,
    order: TimelineOrder = "oldest",
) -> TimelinePage:
    """An entity's events in time order (ties by event id), oldest or newest first, `limit` at a time;
    the cursor (the last event's time and id, a few dozen bytes however many events share a time)
    resumes after it."""
    newest_first = order == "newest"
    filters = await with_threads(store, kind.filters(entity_id))
    onward = math.inf if not newest_first else -math.inf

    async def scroll(wanted: int, start: float | None, until: float | None = None) -> list[dict[str, Any]]:
        return await store.scroll_by_time(filters, wanted, start, until, newest_first=newest_first)

    items: list[dict[str, Any]] = []
    start: float | None = None
    if cursor:
        ts, after = _decode_cursor(cursor, newest_first)
        ties = await scroll(MAX_TIES, ts, ts)
        beyond = [p for p in ties if _beyond(str(p.get("event_id", "")), after, newest_first)]
        items = _in_order(beyond, newest_first)
        start = math.nextafter(ts, onward)
    if len(items) <= limit:
        wanted = limit + 1 - len(items)
        more = await scroll(wanted, start)
        if len(more) == wanted:  # the last timestamp's events may go on beyond this read: take them all
            last = more[-1].get("occurred_at_ts")
            if isinstance(last, int | float):
                more = [p for p in more if p.get("occurred_at_ts") != last]
                more += await scroll(MAX_TIES, last, last)
        items += _in_order(more, newest_first)
    page = items[:limit]
    next_cursor = None
    if len(items) > limit and page:
        next_cursor = _encode_cursor(float(page[-1]["occurred_at_ts"]), str(page[-1].get("event_id", "")), newest_first)
    events = [d for d in (_readable(p, str(p.get("event_id")), StoredDocument) for p in page) if d is not None]
    return TimelinePage(kind=kind, id=entity_id, order=order, events=events, next_cursor=next_cursor)


async def get_event(store: KnowledgeStore, event_id: str) -> StoredDocument | None:
    """The stored document of one event, if it is indexed."""
    payloads = await store.retrieve([point_id(event_id)])
    return _readable(payloads[0], event_id, StoredDocument) if payloads else None


async def facets(embedder: Embedder, store: KnowledgeStore, request: FacetRequest) -> FacetResponse:
    """Counts by category, action and player: among a query's hits, or (no query) among every match."""
    filters = await with_threads(store, request.filters)
    if request.query is None:
        counted = {name: await store.facet(key, filters, request.limit) for name, key in FACET_FIELDS.items()}
        return FacetResponse(query=None, total=await store.count(filters), facets=counted)
    # The query's hits as /v1/search finds them by default.
    found = await _find(embedder, store, request.query, filters, request.top_k, _DEFAULT_MODE, _DEFAULT_FUSION)
    result: dict[str, dict[str, int]] = {}
    for name, key in FACET_FIELDS.items():
        counts: dict[str, int] = {}
        for hit in found:
            value = hit.payload.get(key)
            for item in value if isinstance(value, list) else [value]:
                if item is not None:
                    counts[str(item)] = counts.get(str(item), 0) + 1
        result[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: request.limit])
    return FacetResponse(query=request.query, total=len(found), facets=result)

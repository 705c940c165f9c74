"""The store interface, the payload indexes, and filters in a form both backends translate."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Final, Literal, Protocol, TypeVar
from uuid import UUID

import structlog

from knowledge.metrics import UNREADABLE_POINTS
from knowledge.sparse import Sparse
from knowledge.versioning import version_of
from schemas.documents import DocumentBase, to_payload
from schemas.search import SearchFilters

log = structlog.get_logger(__name__)

IndexType = Literal["keyword", "integer", "float", "datetime"]

#: Every field a filter can use, with its index type. docs/ai/qdrant_schemas.md lists the same.
PAYLOAD_INDEXES: Final[dict[str, IndexType]] = {
    "event_id": "keyword",
    "category": "keyword",
    "subcategory": "keyword",
    "action": "keyword",
    "player_ids": "keyword",
    "scholar_ids": "keyword",
    "expedition_code": "keyword",
    "outcome": "keyword",
    "keywords": "keyword",
    "occurred_at": "datetime",
    "occurred_at_ts": "float",
    "game_year": "integer",
    "game_day": "integer",
}


@dataclass(frozen=True)
class CollectionIdentity:
    """What a collection's vectors are: checked on every start, so models are never mixed."""

    embedding_model: str
    dim: int
    vector_name: str

    def as_metadata(self) -> dict[str, Any]:
        return {"embedding_model": self.embedding_model, "dim": self.dim, "vector_name": self.vector_name}


@dataclass(frozen=True)
class MatchAny:
    """The field (or one element of it, for lists) equals one of `values`."""

    key: str
    values: tuple[str | int, ...]

    @cached_property
    def members(self) -> frozenset[str | int]:
        """`values` as a set: a live subscription judges every new document against it in memory, and
        a player's threads can be hundreds of codes."""
        return frozenset(self.values)


@dataclass(frozen=True)
class DateRange:
    """`gte <= field < lt` on a datetime field."""

    key: str
    gte: datetime | None
    lt: datetime | None


@dataclass(frozen=True)
class Between:
    """`gte <= field <= lte` on a float field (either bound may be open)."""

    key: str
    gte: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class Either:
    """At least one of `options` holds."""

    options: tuple[Condition, ...]


@dataclass(frozen=True)
class Every:
    """All of `conditions` hold."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """`condition` does not hold."""

    condition: Condition


Condition = MatchAny | DateRange | Between | Either | Every | Not
#: The conditions on one field, which each backend writes in its own client's types.
FieldTest = MatchAny | DateRange | Between
G = TypeVar("G")
F = TypeVar("F")


def store_filter(
    filters: SearchFilters | None, extra: Sequence[Condition], group: Callable[..., G], field: Callable[[FieldTest], F]
) -> G | None:
    """`filters` (and `extra` conditions) in a backend's own filter types, None when there is nothing to
    filter: `group(must=, should=, must_not=)` makes its Filter, `field` its condition on one field."""

    def lowered(condition: Condition) -> G | F:
        if isinstance(condition, Either):
            return group(should=[lowered(option) for option in condition.options])
        if isinstance(condition, Every):
            return group(must=[lowered(c) for c in condition.conditions])
        if isinstance(condition, Not):
            return group(must_not=[lowered(condition.condition)])
        return field(condition)

    must = [lowered(c) for c in [*(conditions(filters) if filters is not None else []), *extra]]
    return group(must=must) if must else None


def conditions(filters: SearchFilters) -> list[Condition]:
    """The conditions a search request's filters stand for; all must hold."""
    found: list[Condition] = []
    if filters.category:
        found.append(MatchAny("category", tuple(c.value for c in filters.category)))
    if filters.action:
        found.append(MatchAny("action", tuple(filters.action)))
    if filters.player_id:
        by_player = MatchAny("player_ids", (filters.player_id,))
        threads = filters.thread_codes()
        found.append(Either((by_player, MatchAny("expedition_code", threads))) if threads else by_player)
    if filters.scholar_id:
        found.append(MatchAny("scholar_ids", (filters.scholar_id,)))
    if filters.expedition_code:
        found.append(MatchAny("expedition_code", (filters.expedition_code,)))
    if filters.game_year is not None:
        found.append(MatchAny("game_year", (filters.game_year,)))
    if filters.occurred_after or filters.occurred_before:
        found.append(DateRange("occurred_at", filters.occurred_after, filters.occurred_before))
    return found


def holds(condition: Condition, document: DocumentBase) -> bool:
    """Whether one document meets a condition, judged in memory as the store judges it (for documents
    not read from the store: live subscriptions)."""
    if isinstance(condition, Either):
        return any(holds(option, document) for option in condition.options)
    if isinstance(condition, Every):
        return all(holds(c, document) for c in condition.conditions)
    if isinstance(condition, Not):
        return not holds(condition.condition, document)
    value = getattr(document, condition.key)
    if isinstance(condition, Between):
        return (condition.gte is None or value >= condition.gte) and (condition.lte is None or value <= condition.lte)
    if isinstance(condition, MatchAny):
        return any(v in condition.members for v in (value if isinstance(value, list) else [value]))
    return (condition.gte is None or value >= condition.gte) and (condition.lt is None or value < condition.lt)


def replaceable_by(document: DocumentBase) -> Condition:
    """Holds for a stored point that `document` may replace: one whose version is not newer than the
    document's (knowledge/versioning.py: later `occurred_at`, or the same and a later offset of the same
    partition). The condition of a conditional upsert, so that the version check and the write are one
    operation in the store, whoever else writes the same event at the same moment."""
    version = version_of(document)
    earlier = Between("occurred_at_ts", lte=math.nextafter(version.occurred_at_ts, -math.inf))
    same_time: Condition = Between("occurred_at_ts", gte=version.occurred_at_ts, lte=version.occurred_at_ts)
    if version.topic is not None and version.partition is not None and version.offset is not None:
        later_record = Every(
            (
                MatchAny("source.topic", (version.topic,)),
                MatchAny("source.partition", (version.partition,)),
                Between("source.offset", gte=version.offset + 1),
            )
        )
        same_time = Every((same_time, Not(later_record)))
    return Either((earlier, same_time))


def time_bound(until_ts: float | None, newest_first: bool) -> list[Condition]:
    """Where a scroll by time stops: at `until_ts` going forwards (at most it) or backwards (at least it)."""
    if until_ts is None:
        return []
    return [Between("occurred_at_ts", gte=until_ts) if newest_first else Between("occurred_at_ts", lte=until_ts)]


@dataclass(frozen=True)
class PointData:
    """One point to write, in neutral form: each backend turns it into its client's point type."""

    id: str
    dense: list[float]
    sparse: Sparse | None
    payload: dict[str, Any]


def point_data(
    documents: Sequence[DocumentBase], vectors: Sequence[list[float]], sparse: Sequence[Sparse] | None
) -> list[PointData]:
    """The points of an upsert; an empty BM25 vector (a text with no indexable word) is left out."""
    bm25: Sequence[Sparse | None] = sparse if sparse is not None else [None] * len(documents)
    return [
        PointData(str(doc.id), vector, s if s is not None and s.indices else None, to_payload(doc))
        for doc, vector, s in zip(documents, vectors, bm25, strict=True)
    ]


@dataclass(slots=True)
class ScoredPayload:
    """A search result: the point id, the similarity score and the stored payload (empty if not asked
    for). Not frozen: a search makes hundreds, and a frozen dataclass's constructor is half as fast
    again (each field set through `object.__setattr__`)."""

    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class KeywordHits:
    """A BM25 search's hits (ids and scores, best first) and `bound`, the most a document could score
    for the query: the sum of each query term's best score in the collection. Not among the documents
    passing the filters: at 100,000 events a filtered one-term search costs as much as the filtered
    search itself (1-6 ms per query's terms), while on the dev season's judged queries the bound moved
    by 5 % at most and no top 10 changed (one query's order within its top 10 did)."""

    hits: list[ScoredPayload]
    bound: float


@dataclass(frozen=True)
class Candidates:
    """What hybrid fusion chooses from (knowledge/fusion.py): the dense hits and the keyword hits (ids
    and scores, best first), with each list's score of the other's hits: `cosines` holds the cosine of
    every keyword hit, `bm25` the BM25 score of every dense hit that shares a word with the query."""

    dense: list[ScoredPayload]
    keyword: KeywordHits
    cosines: dict[str, float]
    bm25: dict[str, float]


#: A caller's pick among hybrid candidates (see `KnowledgeStore.hybrid_then_read`).
Choose = Callable[[Candidates], list[ScoredPayload]]


def unscored(ids: Sequence[str], scored: Sequence[ScoredPayload]) -> list[str]:
    """The ids that are not among `scored`, in their order."""
    have = {s.id for s in scored}
    return [i for i in ids if i not in have]


def skip_unreadable(point_id: str, exc: BaseException) -> None:
    """A stored point whose payload cannot be read is left out of an answer: logged and counted, so
    one bad point never fails a whole request (schemas/limits.py keeps new ones out)."""
    UNREADABLE_POINTS.inc()
    log.warning("point_unreadable", point_id=point_id, error=str(exc)[:300])


class KnowledgeStore(Protocol):
    """A Qdrant collection of knowledge documents. Every call is bounded by the store's timeout."""

    async def ensure_collection(self, identity: CollectionIdentity) -> None:
        """Create the collection with its payload indexes, or check that it holds the same model."""
        ...

    async def stored_model(self) -> str | None:
        """The embedding model the collection was made with (its record's, else the model of ours whose
        vector it holds); None when there is no collection yet, or it names no model."""
        ...

    async def upsert(
        self,
        documents: Sequence[DocumentBase],
        vectors: Sequence[list[float]],
        sparse: Sequence[Sparse] | None = None,
    ) -> None:
        """Write the points (dense and, when given, BM25 vectors); a point with the same id is replaced."""
        ...

    async def search(
        self, query: list[float] | Sparse, filters: SearchFilters, limit: int, *, with_payload: bool = True
    ) -> list[ScoredPayload]:
        """Documents passing `filters`, best first: nearest to a dense vector (cosine), or best BM25 match
        to a sparse one. Hybrid search fuses two of these (knowledge/fusion.py)."""
        ...

    async def retrieve(self, point_ids: Sequence[UUID]) -> list[dict[str, Any]]:
        """Payloads of the points that exist among `point_ids`."""
        ...

    async def keyword_search(self, query: Sparse, filters: SearchFilters, limit: int) -> KeywordHits:
        """The BM25 hits without payloads, and the most a document passing `filters` could score."""
        ...

    async def hybrid_then_read(
        self, vector: list[float], sparse: Sparse, keyword: KeywordHits, filters: SearchFilters, limit: int,
        choose: Choose,
    ) -> list[ScoredPayload]:  # fmt: skip
        """The dense hits without payloads, the cosine of each of the `keyword` hits (of `sparse`), and
        the BM25 score of each dense hit not among them; `choose` picks and orders among them (ids and
        scores); then the chosen with their payloads (those that exist and can be read). The embedded
        store does all of it in one trip to its worker thread, where `choose` then runs: it must be
        quick and must not touch the event loop."""
        ...

    async def search_like(self, point_id: UUID, filters: SearchFilters, limit: int) -> list[ScoredPayload] | None:
        """`search` by the stored vector of a point (the point itself is among the hits), with payloads;
        None when the point does not exist. The embedded store reads the vector and searches in one trip
        to its worker thread; the server store makes the two requests."""
        ...

    async def count(self, filters: SearchFilters | None = None) -> int:
        """Exact number of points passing `filters`."""
        ...

    async def facet(self, key: str, filters: SearchFilters, limit: int) -> dict[str, int]:
        """Exact counts of the `limit` most common values of a keyword field among matching points."""
        ...

    async def vector(self, point_id: UUID) -> list[float] | None:
        """The stored vector of a point, or None when the point does not exist."""
        ...

    async def delete(self, point_ids: Sequence[UUID]) -> None:
        """Remove the points; absent ids are ignored."""
        ...

    async def scroll_by_time(
        self,
        filters: SearchFilters,
        limit: int,
        start_from_ts: float | None,
        until_ts: float | None = None,
        *,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        """Payloads passing `filters` in `occurred_at` order (or newest first), from `start_from_ts` to
        `until_ts` (both inclusive) on."""
        ...

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers now."""
        ...

    async def close(self) -> None:
        """Flush and release the store."""
        ...

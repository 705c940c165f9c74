"""Search requests and answers, shared by the HTTP API and the agent tools."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from schemas.documents import Category
from schemas.events import MAX_ACTION_CHARS
from schemas.limits import Text

MAX_TOP_K = 100
#: The game writes years as up to 6 digits ("Y57.D19").
MAX_GAME_YEAR = 999_999
#: An id a filter may name (players, scholars, expedition codes).
FilterId = Annotated[Text, Field(min_length=1, max_length=200)]
#: Query text, in words.
QueryText = Annotated[Text, Field(min_length=1, max_length=2000)]


class SearchFilters(BaseModel):
    """Structured filters; every one of them is a payload index. All given filters must match."""

    model_config = ConfigDict(extra="forbid")

    category: list[Category] | None = Field(default=None, max_length=20, description="Any of these categories.")
    action: list[Annotated[Text, Field(max_length=MAX_ACTION_CHARS)]] | None = Field(
        default=None, max_length=100, description="Any of these actions."
    )
    player_id: FilterId | None = Field(
        default=None,
        description="Events naming this player, and the events of the expeditions and conferences this player "
        "took part in (a conference's resolution names only its code).",
    )
    scholar_id: FilterId | None = Field(default=None, description="Events naming this scholar.")
    expedition_code: FilterId | None = None
    occurred_after: AwareDatetime | None = Field(default=None, description="occurred_at >= this.")
    occurred_before: AwareDatetime | None = Field(default=None, description="occurred_at < this.")
    game_year: int | None = Field(default=None, ge=0, le=MAX_GAME_YEAR)

    @model_validator(mode="after")
    def _range_is_ordered(self) -> SearchFilters:
        if (
            self.occurred_after is not None
            and self.occurred_before is not None
            and self.occurred_after >= self.occurred_before
        ):
            raise ValueError("occurred_after must be earlier than occurred_before")
        return self

    #: The codes of the threads (expeditions, conferences) `player_id` took part in, found by the search
    #: layer in the store (knowledge/search.py, `with_threads`); not part of the request.
    _thread_codes: tuple[str, ...] = PrivateAttr(default=())

    def is_empty(self) -> bool:
        """True when no filter is set."""
        return not self.model_dump(exclude_none=True)

    def thread_codes(self) -> tuple[str, ...]:
        """The codes `player_id` reaches besides the events naming the player."""
        return self._thread_codes

    def with_thread_codes(self, codes: tuple[str, ...]) -> SearchFilters:
        """A copy whose `player_id` also reaches the events carrying one of `codes`."""
        copy = self.model_copy()
        copy._thread_codes = codes
        return copy


class FilteredQuery(SearchFilters):
    """Query-string parameters that carry the filters alongside a few of their own."""

    def filters(self) -> SearchFilters:
        """Only the filters."""
        return SearchFilters.model_validate(self.model_dump(include=set(SearchFilters.model_fields)))


class RelatedQuery(FilteredQuery):
    """`GET /v1/events/{event_id}/related` query string."""

    top_k: int = Field(default=10, ge=1, le=MAX_TOP_K)


class StreamQuery(FilteredQuery):
    """`GET /v1/stream` query string: a standing query."""

    query: QueryText
    min_score: float = Field(default=0.3, ge=-1, le=1, allow_inf_nan=False)
    api_key: str | None = Field(
        default=None, max_length=200, description="The API key, for browsers (an EventSource sends no headers)."
    )


#: Which lists a search ranks by: dense vectors, BM25, or both fused.
Mode = Literal["semantic", "keyword", "hybrid"]
#: How hybrid search fuses its dense and BM25 lists (knowledge/fusion.py).
Fusion = Literal["score", "rrf"]


class SearchRequest(BaseModel):
    """`POST /v1/search`."""

    model_config = ConfigDict(extra="forbid")

    query: QueryText = Field(description="What to look for, in words.")
    top_k: int = Field(default=10, ge=1, le=MAX_TOP_K)
    filters: SearchFilters = Field(default_factory=SearchFilters)
    mode: Mode = Field(
        default="hybrid",
        description="semantic: dense vectors (meaning); keyword: BM25 (names, codes); hybrid: both, fused.",
    )
    fusion: Fusion = Field(
        default="score",
        description="How hybrid fuses its lists: score (0.3 x cosine + 0.7 x BM25 / best BM25) or rrf (by rank).",
    )
    recency_half_life_days: float | None = Field(
        default=None,
        gt=0,
        le=1e6,
        description="Weight hits by age: a hit this many days older than the newest counts half.",
    )


class StoredDocument(BaseModel):
    """One stored point: its document payload."""

    event_id: str
    category: Category
    action: str
    occurred_at: datetime
    title: str
    content: str
    payload: dict[str, Any]
    document: dict[str, Any] = Field(description="Every stored field of the document.")


class SearchHit(StoredDocument):
    """One match, best first."""

    score: float


class SearchResponse(BaseModel):
    """Answer to a search."""

    query: str
    hits: list[SearchHit]


class RelatedResponse(BaseModel):
    """Answer to `GET /v1/events/{event_id}/related`."""

    event_id: str
    hits: list[SearchHit]


class EntityKind(StrEnum):
    """What a timeline follows."""

    PLAYER = "player"
    SCHOLAR = "scholar"
    EXPEDITION = "expedition"

    def filters(self, entity_id: str) -> SearchFilters:
        """The filter selecting this entity's events."""
        field = {"player": "player_id", "scholar": "scholar_id", "expedition": "expedition_code"}[self.value]
        return SearchFilters.model_validate({field: entity_id})


#: Which end of a timeline comes first.
TimelineOrder = Literal["oldest", "newest"]


class TimelinePage(BaseModel):
    """One page of an entity's events, in the order asked for."""

    kind: EntityKind
    id: str
    order: TimelineOrder = "oldest"
    events: list[StoredDocument]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


FACET_FIELDS = {"category": "category", "action": "action", "player": "player_ids"}


class FacetRequest(BaseModel):
    """`POST /v1/facets`: counts by category, action and player, over a query's hits or over everything."""

    model_config = ConfigDict(extra="forbid")

    query: QueryText | None = Field(default=None, description="Count among its hits.")
    top_k: int = Field(default=100, ge=1, le=1000, description="How many hits of `query` are counted.")
    filters: SearchFilters = Field(default_factory=SearchFilters)
    limit: int = Field(default=20, ge=1, le=100, description="Values per facet, most common first.")


class FacetResponse(BaseModel):
    """Counts per facet, most common first; `total` is the number of documents counted."""

    query: str | None
    total: int
    facets: dict[str, dict[str, int]]

"""Search requests and answers, shared by the HTTP API and the agent tools."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.documents import Category

MAX_TOP_K = 100


class SearchFilters(BaseModel):
    """Structured filters; every one of them is a payload index. All given filters must match."""

    model_config = ConfigDict(extra="forbid")

    category: list[Category] | None = Field(default=None, description="Any of these categories.")
    action: list[str] | None = Field(default=None, description="Any of these actions.")
    player_id: str | None = Field(default=None, description="Events naming this player.")
    scholar_id: str | None = Field(default=None, description="Events naming this scholar.")
    expedition_code: str | None = None
    occurred_after: AwareDatetime | None = Field(default=None, description="occurred_at >= this.")
    occurred_before: AwareDatetime | None = Field(default=None, description="occurred_at < this.")
    game_year: int | None = None

    @model_validator(mode="after")
    def _range_is_ordered(self) -> SearchFilters:
        if (
            self.occurred_after is not None
            and self.occurred_before is not None
            and self.occurred_after >= self.occurred_before
        ):
            raise ValueError("occurred_after must be earlier than occurred_before")
        return self

    def is_empty(self) -> bool:
        """True when no filter is set."""
        return not self.model_dump(exclude_none=True)


class SearchRequest(BaseModel):
    """`POST /v1/search`."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2000, description="What to look for, in words.")
    top_k: int = Field(default=10, ge=1, le=MAX_TOP_K)
    filters: SearchFilters = Field(default_factory=SearchFilters)


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

"""docs/ai stays in step with the models: every stored field, index, category and filter is documented."""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.model_files import DIM, MODELS
from knowledge.store.base import PAYLOAD_INDEXES
from schemas.documents import DOCUMENT_MODELS, Category, DocumentBase
from schemas.search import SearchFilters, SearchRequest

DOCS = Path(__file__).resolve().parent.parent / "docs" / "ai"
SCHEMAS = (DOCS / "qdrant_schemas.md").read_text()
GUIDE = (DOCS / "qdrant_usage_guide.md").read_text()


def table_rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|")
    ]


def test_every_common_field_is_documented_with_its_index() -> None:
    rows = {row[0].strip("`"): row for row in table_rows(SCHEMAS) if len(row) == 4 and row[0].startswith("`")}
    for field in DocumentBase.model_fields:
        assert field in rows, f"{field} is missing from qdrant_schemas.md"
    for field, kind in PAYLOAD_INDEXES.items():
        assert rows[field][2] == kind, f"{field} is indexed as {kind}, the page says {rows[field][2]}"
    unindexed = {f for f, row in rows.items() if row[2] in {"\u2013", "(point id)"}}
    assert not unindexed & set(PAYLOAD_INDEXES)


def test_every_category_field_and_example_is_documented() -> None:
    category_rows = {(row[0], row[1].strip("`")) for row in table_rows(SCHEMAS) if len(row) == 4}
    base = set(DocumentBase.model_fields)
    for category, model in DOCUMENT_MODELS.items():
        for field in set(model.model_fields) - base:
            assert (category.value, field) in category_rows, f"{category.value}.{field} is not documented"
        assert re.search(rf"^### {category.value}$", SCHEMAS, re.M), f"no example for {category.value}"
    assert {c.value for c in Category} == {c.value for c in DOCUMENT_MODELS}


def test_collection_facts_match_the_code() -> None:
    assert f"{DIM} dimensions" in SCHEMAS
    for model in MODELS.values():
        assert f"`{model.vector_name}`" in SCHEMAS and model.id in SCHEMAS


def test_every_search_field_and_filter_is_in_the_usage_guide() -> None:
    documented = {row[0].strip("`") for row in table_rows(GUIDE)}
    assert set(SearchFilters.model_fields) <= documented
    assert set(SearchRequest.model_fields) <= documented

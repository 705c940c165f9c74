"""How hybrid search joins its two ranked lists (dense and BM25) into one.

Both lists are fetched with their scores (`CANDIDATES` each, the same filters), then fused here, so
the two stores rank alike. Two ways, chosen per request:

- `score` (the default): `DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT) * bm25 / best_bm25`. A document
  missing from a list counts 0 there. BM25 is scaled by the best BM25 score of the query, so a rare word
  that only a few documents share (a code, a surname) lifts exactly those documents, while the cosine
  still orders documents that match the words equally, and carries a question with no rare word.
- `rrf`: reciprocal rank fusion, `sum of 1 / (RRF_K + rank)` over the lists. Ranks only, no scores: a
  dense list that knows nothing of a code still fills half of the vote.

Measured with `python -m bench.quality` on the dev season's judged set (the numbers and what else was
tried are in docs/ai/qdrant_usage_guide.md): `score` with `DENSE_WEIGHT` = 0.3 is the best overall and
by recall on every kind of query; min-max, z-score, a falloff-scaled keyword weight and RRF (k 10 to
60) were each worse overall on the tuned queries; RRF loses most on codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from schemas.search import Fusion

#: How many candidates each list contributes.
CANDIDATES: Final = 100
#: The cosine's share of a `score`-fused hit; BM25 (scaled to the query's best) has the rest.
DENSE_WEIGHT: Final = 0.3
#: Reciprocal rank fusion's k.
RRF_K: Final = 60


@dataclass(frozen=True)
class Ranked:
    """A point id with its score in one list (or fused)."""

    id: str
    score: float


def fuse(dense: Sequence[Ranked], keyword: Sequence[Ranked], how: Fusion) -> list[Ranked]:
    """One list, best first; ties keep the order in which the ids were first seen (dense first)."""
    fused: dict[str, float] = {}
    if how == "rrf":
        for ranked in (dense, keyword):
            for rank, hit in enumerate(ranked, start=1):
                fused[hit.id] = fused.get(hit.id, 0.0) + 1.0 / (RRF_K + rank)
    else:
        for hit in dense:
            fused[hit.id] = DENSE_WEIGHT * hit.score
        best = max((hit.score for hit in keyword), default=0.0)
        for hit in keyword:
            share = hit.score / best if best > 0 else 0.0
            fused[hit.id] = fused.get(hit.id, 0.0) + (1 - DENSE_WEIGHT) * share
    return sorted((Ranked(i, s) for i, s in fused.items()), key=lambda r: r.score, reverse=True)

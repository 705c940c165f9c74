"""Hybrid fusion as arithmetic: what each fused score is made of, for any two lists."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.fusion import DENSE_WEIGHT, RRF_K, Ranked, fuse

ids = st.text(alphabet="abcdefgh", min_size=1, max_size=2)
dense_lists = st.dictionaries(ids, st.floats(-1, 1, allow_nan=False), max_size=12)
keyword_lists = st.dictionaries(ids, st.floats(0.01, 50, allow_nan=False), max_size=12)


def ranked(scores: dict[str, float]) -> list[Ranked]:
    return [Ranked(i, s) for i, s in sorted(scores.items(), key=lambda kv: kv[1], reverse=True)]


@given(dense_lists, keyword_lists)
def test_score_fusion_is_weighted_cosine_plus_scaled_bm25(dense: dict[str, float], keyword: dict[str, float]) -> None:
    fused = fuse(ranked(dense), ranked(keyword), "score")
    assert {f.id for f in fused} == dense.keys() | keyword.keys()
    best = max(keyword.values(), default=1.0)
    for hit in fused:
        expected = DENSE_WEIGHT * dense.get(hit.id, 0.0) + (1 - DENSE_WEIGHT) * keyword.get(hit.id, 0.0) / best
        assert hit.score == pytest.approx(expected)
    assert [f.score for f in fused] == sorted((f.score for f in fused), reverse=True)


@given(dense_lists, keyword_lists)
def test_rrf_sums_reciprocal_ranks(dense: dict[str, float], keyword: dict[str, float]) -> None:
    lists = [ranked(dense), ranked(keyword)]
    fused = {f.id: f.score for f in fuse(lists[0], lists[1], "rrf")}
    assert set(fused) == dense.keys() | keyword.keys()
    for doc, score in fused.items():
        ranks = [[r.id for r in rs].index(doc) + 1 for rs in lists if doc in {r.id for r in rs}]
        assert score == pytest.approx(sum(1 / (RRF_K + rank) for rank in ranks))


def test_a_rare_word_match_outranks_a_closer_meaning() -> None:
    """The case hybrid exists for: the dense list's best knows nothing of the code; BM25's best names it."""
    dense = [Ranked("generic", 0.66), Ranked("names-the-code", 0.30)]
    keyword = [Ranked("names-the-code", 16.1), Ranked("generic", 5.5)]
    assert fuse(dense, keyword, "score")[0].id == "names-the-code"

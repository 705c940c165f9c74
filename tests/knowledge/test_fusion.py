"""Hybrid fusion as arithmetic: what each fused score is made of, for any two lists."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.fusion import (
    NAMED_DENSE_WEIGHT,
    PLAIN_DENSE_WEIGHT,
    RRF_K,
    SIDE_ASKED_BONUS,
    Ranked,
    asks_for_news,
    dense_weight,
    fuse,
)
from knowledge.search import _side_asked_first
from knowledge.store.base import ScoredPayload
from schemas.search import Fusion

ids = st.text(alphabet="abcdefgh", min_size=1, max_size=2)
dense_lists = st.dictionaries(ids, st.floats(-1, 1, allow_nan=False), max_size=12)
keyword_lists = st.dictionaries(ids, st.floats(0.01, 50, allow_nan=False), max_size=12)


def ranked(scores: dict[str, float]) -> list[Ranked]:
    return [Ranked(i, s) for i, s in sorted(scores.items(), key=lambda kv: kv[1], reverse=True)]


@given(dense_lists, keyword_lists, st.sampled_from([NAMED_DENSE_WEIGHT, PLAIN_DENSE_WEIGHT]))
def test_score_fusion_is_weighted_cosine_plus_scaled_bm25(
    dense: dict[str, float], keyword: dict[str, float], weight: float
) -> None:
    fused = fuse(ranked(dense), ranked(keyword), "score", weight)
    assert {f.id for f in fused} == dense.keys() | keyword.keys()
    best = max(keyword.values(), default=1.0)
    for hit in fused:
        expected = weight * dense.get(hit.id, 0.0) + (1 - weight) * keyword.get(hit.id, 0.0) / best
        assert hit.score == pytest.approx(expected)
    assert [f.score for f in fused] == sorted((f.score for f in fused), reverse=True)


@given(dense_lists, keyword_lists, st.sampled_from(["score", "rrf"]), st.integers(0, 30))
def test_a_limit_gives_the_first_hits_of_the_whole_fusion_ties_in_the_same_order(
    dense: dict[str, float], keyword: dict[str, float], how: Fusion, limit: int
) -> None:
    whole = fuse(ranked(dense), ranked(keyword), how, 0.5)
    assert fuse(ranked(dense), ranked(keyword), how, 0.5, limit) == whole[:limit]
    tied = [Ranked(f"d{n}", 0.5) for n in range(12)]  # equal scores: the order they were first seen
    assert [r.id for r in fuse(tied, [], how, 0.5, 5)] == [f"d{n}" for n in range(5)]


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


@pytest.mark.parametrize(
    "query",
    ["FD-004", "CONF-1018", "what happened in 1931", "amara.o's theories", "lenka_h", "Dr Elara Blackstone",
     "the scholar nicknamed Copperhead", "Which scholars were promoted to Director?"],
)  # fmt: skip
def test_a_query_that_names_something_leans_on_its_exact_words(query: str) -> None:
    assert dense_weight(query) == NAMED_DENSE_WEIGHT


@pytest.mark.parametrize(
    "query",
    ["Who gave money to the archive?", "expeditions that came back empty-handed", "rumours", "", "   ",
     "scholars I recruited", "what I've posted at the table"],  # "I" is a player speaking, not a name
)  # fmt: skip
def test_a_query_in_plain_words_leans_on_its_meaning(query: str) -> None:
    assert dense_weight(query) == PLAIN_DENSE_WEIGHT > NAMED_DENSE_WEIGHT


def test_a_weak_match_of_a_common_word_does_not_push_out_what_the_query_means() -> None:
    """Plain words: BM25's best shares one word with the query and nothing of its meaning."""
    dense = [Ranked("means-it", 0.60), Ranked("shares-a-word", 0.05)]
    keyword = [Ranked("shares-a-word", 10.2), Ranked("means-it", 5.6)]
    assert fuse(dense, keyword, "score", dense_weight("who gave money to the archive"))[0].id == "means-it"


def test_a_hit_missing_from_one_list_takes_its_score_there_not_zero() -> None:
    """Each list holds its best 100 only: a document every keyword hit matches fully (a one-word query,
    "promotions") may be past the dense list's end, and would count 0 there, below every dense hit."""
    dense = [Ranked("close-in-meaning", 0.63)]
    keyword = [Ranked("says-the-word", 7.8)]
    fused = fuse(dense, keyword, "score", 0.9, cosines={"says-the-word": 0.58}, bm25={"close-in-meaning": 1.2})
    assert [f.id for f in fused] == ["says-the-word", "close-in-meaning"]
    assert fused[0].score == pytest.approx(0.9 * 0.58 + 0.1 * 1.0)
    assert fused[1].score == pytest.approx(0.9 * 0.63 + 0.1 * 1.2 / 7.8)
    assert fuse(dense, keyword, "score", 0.9)[0].id == "close-in-meaning", "with 0 for a missing score"


def test_bm25_is_scaled_by_what_the_query_could_score() -> None:
    """A best BM25 hit that matches one common word of four is not a full match: scaled by the bound
    (each term's best score, summed), it adds its share, not the whole keyword weight."""
    dense = [Ranked("means-it", 0.60), Ranked("shares-a-word", 0.45)]
    keyword = [Ranked("shares-a-word", 2.0)]
    assert fuse(dense, keyword, "score", 0.5)[0].id == "shares-a-word"
    scaled = fuse(dense, keyword, "score", 0.5, bound=20.0)
    assert scaled[0].id == "means-it"
    assert scaled[1].score == pytest.approx(0.5 * 0.45 + 0.5 * 0.1)
    assert fuse(dense, keyword, "rrf", bound=20.0) == fuse(dense, keyword, "rrf"), "RRF reads ranks alone"


@pytest.mark.parametrize(
    "query",
    ["news that a player's reputation rose", "what the papers said after a recruitment", "Press on FD-004",
     "stories about defections", "a bulletin after a think tank's study", "announcements of pauses",
     "daily roundups", "rumours about Blackstone", "reports on the pacts"],
)  # fmt: skip
def test_a_query_that_names_the_news_asks_for_press_releases(query: str) -> None:
    assert asks_for_news(query)


@pytest.mark.parametrize(
    "query",
    ["money put into factions", "FD-004", "scholars I promoted", "", "Which theories were retracted?",
     "expressions of doubt", "newcomers met on an expedition", "a storyteller scholar"],
)  # fmt: skip
def test_a_query_about_what_happened_asks_for_the_events(query: str) -> None:
    assert not asks_for_news(query)


sides = st.lists(st.tuples(st.floats(-1, 2, allow_nan=False), st.sampled_from(["press", "expedition", "notes"])))


@given(sides, st.sampled_from(["money put into factions", "news of money put into factions"]))
def test_the_side_asked_for_gains_a_fixed_bonus_and_scores_stay_in_scale(
    hits: list[tuple[float, str]], query: str
) -> None:
    found = [ScoredPayload(str(i), score, {"category": category}) for i, (score, category) in enumerate(hits)]
    ranked = _side_asked_first(query, found)
    assert sorted(h.id for h in ranked) == sorted(h.id for h in found), "the same hits, re-ranked"
    assert [h.score for h in ranked] == sorted((h.score for h in ranked), reverse=True)
    news = asks_for_news(query)
    for before, after in ((f, next(r for r in ranked if r.id == f.id)) for f in found):
        asked = (before.payload["category"] == "press") == news
        assert after.score == (before.score + (SIDE_ASKED_BONUS if asked else 0.0)) / (1 + SIDE_ASKED_BONUS)

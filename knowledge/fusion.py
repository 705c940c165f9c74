"""How hybrid search joins its two ranked lists (dense and BM25) into one.

Both lists are fetched with their scores (`CANDIDATES` each, the same filters), then fused here, so
the two stores rank alike. Two ways, chosen per request:

- `score` (the default): `w * cosine + (1 - w) * bm25 / bound`. Each list holds its `CANDIDATES`
  best only, so a hit of one list is scored in the other too (the store's `hybrid_then_read`: the
  cosine of every keyword hit, the BM25 score of every dense hit; 0 only for a document that shares
  no word with the query). BM25 is scaled by `bound`, the most a document could score for the query
  (each query term's best score in the collection, summed): a document that
  matches every word of the query as well as any does scores 1, one that matches one common word of
  four scores little, however it ranks among the keyword hits. A rare word that only a few documents
  share (a code, a surname) still lifts exactly those documents, while the cosine orders documents
  that match the words equally. The cosine's share `w` depends on the query (`dense_weight`): a
  query that names something (a code, a number, an id, a capitalised name after its first word)
  gets the named weight, so the documents that carry the name win; a query in plain words gets the
  plain weight, so that a match of one of its common words cannot push out documents that mean what
  was asked. The pair depends on the model (`DENSE_WEIGHTS`): cosines of bge-small-en-v1.5 lie
  closer together than all-MiniLM-L6-v2's, and it knows more of what a plain query means.
  Then the side the query asks for comes first (`asks_for_news`): among the `SIDE_ASKED_POOL` best
  fused hits, press releases gain `SIDE_ASKED_BONUS` when the query names the news ("news that a
  player's reputation rose"), the events (and notes) when it does not ("money put into factions"). An
  event and the press release about it lie close in the model's space, and BM25 decided between them
  by which repeats more of the query's words (knowledge/search.py does it, since it needs each hit's
  category).
- `rrf`: reciprocal rank fusion, `sum of 1 / (RRF_K + rank)` over the lists. Ranks only, no scores: a
  dense list that knows nothing of a code still fills half of the vote.

Measured with `python -m bench.quality` on the dev season's judged set (the numbers and what else was
tried are in docs/ai/qdrant_usage_guide.md), each pair the best of a grid of 0.1 steps on the tuned
queries alone (never the held-out ones): for all-MiniLM-L6-v2 one weight for every query was best at
0.5 but cost codes their exact hits (0.3 kept them); the query-aware pair keeps both. Min-max,
z-score, a falloff-scaled keyword weight, a weight set by how many query words one BM25 hit covers,
and RRF (k 10 to 60) were each worse on the tuned or the held-out queries; RRF loses most on codes.
Scoring each list's hits in the other, and scaling BM25 by the bound instead of the best hit, were
chosen on the tuned queries with the weights unchanged (recall@10 0.869 -> 0.890; the two apart:
0.877 and 0.856): "promotions" between two dates went from 1 to 10 of 10 (every relevant document
was a keyword hit past the dense list's end, so it had counted 0 there). The pronoun "I" counted as
a name until a fifth batch of player queries ("scholars I promoted") showed it: those got the named
weight, 0.2; as plain queries the 14 tuned player queries went from 0.82 / 0.83 to 0.85 / 0.86
(recall@10 / nDCG@10). A weight of their own among one player's events (0.6-1.0) gained at most 0.03
more on those 14, within what one query moves, so none was added. The side asked for first, chosen on
the tuned queries (0.889 -> 0.913), took the ninth held-out batch, written before it was tried, from
0.590 to 0.658, and the held-out queries as a whole from 0.659 to 0.715.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from heapq import nlargest
from typing import Final, Protocol

from knowledge.model_files import BGE_SMALL, DEFAULT_MODEL, MINILM
from schemas.search import Fusion

#: How many candidates each list contributes.
CANDIDATES: Final = 100
#: The cosine's share of a `score`-fused hit, by model: (when the query names something, when it is in
#: plain words); BM25 (scaled to the query's best) has the rest.
DENSE_WEIGHTS: Final = {BGE_SMALL.id: (0.2, 0.9), MINILM.id: (0.3, 0.5)}
NAMED_DENSE_WEIGHT, PLAIN_DENSE_WEIGHT = DENSE_WEIGHTS[DEFAULT_MODEL.id]
#: A code ("FD-004", "CONF-1018"), a number, or an id joined by a dot or underscore ("amara.o").
_NAMING: Final = re.compile(r"\d|\w[._]\w")
_WORD: Final = re.compile(r"[^\W\d_][\w'-]*")
#: "I", "I'm", "I've", "I'd", "I'll": capitalised, and never a name.
_PRONOUN: Final = re.compile(r"I(?:'(?:m|ve|d|ll))?")
#: Reciprocal rank fusion's k.
RRF_K: Final = 60
#: Words by which a query asks for the news (press releases) rather than for what happened (events).
_NEWS: Final = re.compile(
    r"\b(?:news|press|papers|newspapers?|headlines?|stor(?:y|ies)|reports?|reported|reporting|bulletins?|"
    r"notices?|announce(?:d|ments?)?|briefs?|briefings?|publish(?:ed|es)?|articles?|coverage|covered|gossip|"
    r"rumou?rs?|statements?|digests?|roundups?|summar(?:y|ies)|columns?)\b",
    re.IGNORECASE,
)
#: What a `score`-fused hit of the side the query asks for gains (`asks_for_news`: press releases, or
#: else everything but them), and among how many of the best fused hits.
SIDE_ASKED_BONUS: Final = 0.05
SIDE_ASKED_POOL: Final = 30


@dataclass(frozen=True)
class Ranked:
    """A point id with its score in one list (or fused)."""

    id: str
    score: float


class Scored(Protocol):
    """What fusion reads of a hit: its point id and its score in its list (a `Ranked`, or a store's
    hit as it comes, so that no list is copied first)."""

    @property
    def id(self) -> str: ...

    @property
    def score(self) -> float: ...


def names_something(query: str) -> bool:
    """Whether the query names something exactly: a code, a number, an id, or a capitalised word after
    its first (a sentence's first word is capitalised anyway) other than the pronoun "I" ("scholars I
    recruited" is a player speaking, not a name)."""
    later = _WORD.findall(query)[1:]
    return _NAMING.search(query) is not None or any(w[0].isupper() and not _PRONOUN.fullmatch(w) for w in later)


def asks_for_news(query: str) -> bool:
    """Whether the query asks for what the papers said ("news that a player's reputation rose") rather
    than for what happened ("money put into factions"): a word for news, press or a kind of press."""
    return _NEWS.search(query) is not None


def dense_weight(query: str, model_id: str = DEFAULT_MODEL.id) -> float:
    """The cosine's share of a `score`-fused hit for this query, with this model's vectors."""
    named, plain = DENSE_WEIGHTS[model_id]
    return named if names_something(query) else plain


def fuse(
    dense: Sequence[Scored],
    keyword: Sequence[Scored],
    how: Fusion,
    weight: float = NAMED_DENSE_WEIGHT,
    limit: int | None = None,
    *,
    cosines: Mapping[str, float] | None = None,
    bm25: Mapping[str, float] | None = None,
    bound: float = 0.0,
) -> list[Ranked]:
    """One list, best first (its `limit` best when given); ties keep the order in which the ids were
    first seen (dense first). `weight` is the cosine's share in `score` fusion (`dense_weight(query,
    model)`); there a hit missing from one list takes its score in that list from `cosines` or `bm25`
    (0 when not there either), and BM25 is scaled by `bound` (the most a document could score for the
    query; without it, by the best BM25 hit). RRF reads the ranks of the two lists alone."""
    fused: dict[str, float] = {}
    if how == "rrf":
        for ranked in (dense, keyword):
            for rank, hit in enumerate(ranked, start=1):
                fused[hit.id] = fused.get(hit.id, 0.0) + 1.0 / (RRF_K + rank)
    else:
        cosine = {**(cosines or {}), **{hit.id: hit.score for hit in dense}}
        matched = {**(bm25 or {}), **{hit.id: hit.score for hit in keyword}}
        scale = bound or max((hit.score for hit in keyword), default=0.0)
        for hit in (*dense, *keyword):
            if hit.id not in fused:
                share = matched.get(hit.id, 0.0) / scale if scale > 0 else 0.0
                fused[hit.id] = weight * cosine.get(hit.id, 0.0) + (1 - weight) * share
    # nlargest is sorted(..., reverse=True)[:limit], ties in the same order, without sorting them all
    items = fused.items()
    ordered = sorted(items, key=_score, reverse=True) if limit is None else nlargest(limit, items, _score)
    return [Ranked(i, s) for i, s in ordered]


def _score(item: tuple[str, float]) -> float:
    return item[1]

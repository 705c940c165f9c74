"""Search quality: recall@10 and nDCG@10 of semantic, keyword and hybrid search on a judged query set.

`python -m bench.quality`. The queries and their relevant events are derived from the payloads of a
generated season (so the judgements are exact, not opinions):
- codes: an expedition code ("FD-017") or a conference code ("CONF-1004") -> the events that carry it in
  their payload or name it in their text (a retraction notice names its expedition only in the text);
- names: a scholar's surname ("Okafor") -> the events naming that scholar, by id in the payload or by
  surname in the text (a defection notice names the scholar only in its headline);
- meaning: a paraphrase of what an action does ("a scholar was promoted to a higher rank") -> the
  events of that action.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import re
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.report import RESULTS, table, write
from knowledge.embedder import FastembedEmbedder
from knowledge.projector import project
from knowledge.runtime import identity_of
from knowledge.search import search
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SparseEncoder, keyword_text
from knowledge.store.qdrant_edge import QdrantEdgeStore
from schemas.documents import DocumentBase
from schemas.events import GameEvent
from schemas.search import SearchRequest
from scripts.sample_season import season

PARAPHRASES = {
    "career_progression": "a scholar was promoted to a higher rank",
    "recruitment_attempt": "someone tried to hire a scholar into their lab",
    "timeline_advanced": "the calendar moved on to a new year",
    "faction_investment": "a player put money into a faction",
    "symposium_vote": "members cast their votes on a symposium question",
    "admin_reputation_adjustment": "an administrator changed a player's reputation",
    "submit_theory": "a player proposed a new scientific theory",
    "offer_created": "a rival tried to poach a scholar with an offer",
    "table_talk_post": "a player chatted at the table",
    "mentorship_activated": "a mentor started training a scholar",
}
K = 10
#: What is compared: each mode, and hybrid with either fusion (knowledge/fusion.py).
MODES: dict[str, dict[str, str]] = {
    "semantic": {"mode": "semantic"},
    "keyword": {"mode": "keyword"},
    "hybrid": {"mode": "hybrid", "fusion": "score"},
    "hybrid_rrf": {"mode": "hybrid", "fusion": "rrf"},
}


def judged_queries(documents: list[DocumentBase], rng: random.Random) -> list[dict[str, Any]]:
    """(family, query, relevant ids) derived from the documents."""
    by_code: dict[str, set[str]] = defaultdict(set)
    by_scholar: dict[str, set[str]] = defaultdict(set)
    by_action: dict[str, set[str]] = defaultdict(set)
    by_conference: dict[str, set[str]] = defaultdict(set)
    for d in documents:
        if d.expedition_code:
            by_code[d.expedition_code].add(d.event_id)
        for scholar in d.scholar_ids:
            if not scholar.startswith("s.proc-"):
                by_scholar[scholar].add(d.event_id)
        by_action[d.action].add(d.event_id)
        code = d.payload.get("code")
        if isinstance(code, str) and code.startswith("CONF-"):
            by_conference[code].add(d.event_id)
    for index in (by_code, by_scholar, by_conference):
        _add_text_mentions(index, documents)
    queries = []
    for code in rng.sample(sorted(by_code), min(15, len(by_code))):
        queries.append({"family": "codes", "query": f"what happened on expedition {code}", "relevant": by_code[code]})
    for code in rng.sample(sorted(by_conference), min(5, len(by_conference))):
        queries.append({"family": "codes", "query": f"conference {code}", "relevant": by_conference[code]})
    for scholar in rng.sample(sorted(by_scholar), min(15, len(by_scholar))):
        name = scholar[2:].title()
        queries.append({"family": "names", "query": f"news about {name}", "relevant": by_scholar[scholar]})
    for action, text in PARAPHRASES.items():
        if by_action.get(action):
            queries.append({"family": "meaning", "query": text, "relevant": by_action[action]})
    return queries


def _add_text_mentions(index: dict[str, set[str]], documents: list[DocumentBase]) -> None:
    """Also judge relevant the documents whose text names a key as a word (a surname for `s.<surname>`)."""
    for key, relevant in index.items():
        word = key[2:] if key.startswith("s.") else key
        pattern = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])", re.IGNORECASE)
        relevant.update(d.event_id for d in documents if pattern.search(f"{d.title} {d.embedding_text}"))


def recall_at_k(ranked: list[str], relevant: set[str]) -> float:
    return len(set(ranked[:K]) & relevant) / min(K, len(relevant))


def ndcg_at_k(ranked: list[str], relevant: set[str]) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, event_id in enumerate(ranked[:K]) if event_id in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(K, len(relevant))))
    return dcg / ideal


async def run(events: int, seed: int) -> dict[str, Any]:
    """Index a season, then score every mode on every judged query."""
    with tempfile.TemporaryDirectory(prefix="gw-quality-") as tmp:
        settings = KnowledgeSettings(data_dir=Path(tmp), collection_name=f"quality-{uuid.uuid4().hex[:6]}")
        embedder = await asyncio.to_thread(FastembedEmbedder.load, settings)
        documents = [project(GameEvent.model_validate(e)) for e in season(events, seed=seed)]
        sparse = SparseEncoder()
        try:
            async with QdrantEdgeStore.open(settings) as store:
                await store.ensure_collection(identity_of(embedder))
                for start in range(0, len(documents), 256):
                    chunk = documents[start : start + 256]
                    vectors = await embedder.embed_documents([d.embedding_text for d in chunk])
                    bm25 = [sparse.document(keyword_text(d.title, d.embedding_text)) for d in chunk]
                    await store.upsert(chunk, vectors, bm25)
                queries = judged_queries(documents, random.Random(seed))
                scores: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
                for judged in queries:
                    for mode, options in MODES.items():
                        request = SearchRequest.model_validate({"query": judged["query"], "top_k": K, **options})
                        ranked = [h.event_id for h in (await search(embedder, store, request)).hits]
                        pair = (recall_at_k(ranked, judged["relevant"]), ndcg_at_k(ranked, judged["relevant"]))
                        scores[(judged["family"], mode)].append(pair)
                        scores[("all", mode)].append(pair)
        finally:
            embedder.close()
    rows = [
        {"queries": family, "mode": mode, "n": len(pairs),
         "recall@10": round(sum(p[0] for p in pairs) / len(pairs), 3),
         "nDCG@10": round(sum(p[1] for p in pairs) / len(pairs), 3)}
        for (family, mode), pairs in sorted(scores.items())
    ]  # fmt: skip
    return {"events": events, "queries": len(queries), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1500)  # also measured: 3000 --seed 7, 5000 --seed 21
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    results = asyncio.run(run(args.events, args.seed))
    from datetime import UTC, datetime

    out_dir = RESULTS / datetime.now(UTC).strftime("%Y-%m-%d")
    path = write("quality", results, out_dir)
    summary = table(
        f"Search quality ({results['queries']} judged queries, {results['events']} events)", results["rows"]
    )
    (out_dir / "quality.txt").write_text(summary + "\n")
    print(summary)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()

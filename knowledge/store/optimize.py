"""`python -m knowledge.store.optimize`: build the embedded store's HNSW index, offline.

Qdrant Edge runs no background optimizer, and `optimize()` holds the GIL for its whole run, so the
service never calls it. Run this with the service stopped (the shard belongs to one process), e.g.
at a deploy: at 100k events it takes about 90 s on 2 cores and turns a 20 ms brute-force search into
a 1 ms HNSW search (bench/).
"""

from __future__ import annotations

import asyncio
import time

from knowledge.runtime import PACKAGED_MODEL_IDENTITY
from knowledge.settings import KnowledgeSettings
from knowledge.store.qdrant_edge import QdrantEdgeStore


async def optimize(settings: KnowledgeSettings) -> dict[str, object]:
    """Optimize the shard of `settings`; return its state before and after, and the seconds taken."""
    async with QdrantEdgeStore.open(settings) as store:
        await store.ensure_collection(PACKAGED_MODEL_IDENTITY)  # no model needed: nothing is embedded
        before = store.info()
        started = time.perf_counter()
        await store.optimize()
        return {"before": before, "after": store.info(), "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    print(asyncio.run(optimize(KnowledgeSettings())))


if __name__ == "__main__":
    main()

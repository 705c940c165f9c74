"""`python -m knowledge.store.optimize`: build the embedded store's HNSW index and merge its segments.

Qdrant Edge runs no background optimizer, and `optimize()` holds the GIL for its whole run, so a
serving process never calls it. Without arguments this optimizes the store of the settings, which no
process may hold (the service stopped): at 100k events it takes about 90 s on 2 cores. With
`--shard PATH` it optimizes the shard directory at PATH at a lower CPU priority: the serving process
runs it on a copy of its shard and switches to the result (`knowledge/store/edge_optimizer.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

import qdrant_edge as edge

from knowledge.runtime import identity_for, with_stored_model
from knowledge.settings import KnowledgeSettings
from knowledge.store.qdrant_edge import QdrantEdgeStore, place_indexes


async def optimize(settings: KnowledgeSettings) -> dict[str, object]:
    """Optimize the shard of `settings`; return its state before and after, and the seconds taken."""
    async with QdrantEdgeStore.open(settings) as store:
        chosen = await with_stored_model(settings, store)  # no model loaded: nothing is embedded
        await store.ensure_collection(identity_for(chosen.model))
        before = store.info()
        started = time.perf_counter()
        await store.optimize()
        return {"before": before, "after": store.info(), "seconds": round(time.perf_counter() - started, 1)}


def optimize_shard(path: Path) -> dict[str, object]:
    """Optimize the shard directory at `path` (held by no process), at a lower CPU priority."""
    os.nice(10)
    shard = edge.EdgeShard.load(str(path))
    try:
        started = time.perf_counter()
        placed = place_indexes(shard)
        shard.optimize()
        shard.flush()
        seconds = round(time.perf_counter() - started, 1)
        return {"points": shard.info().points_count, "seconds": seconds, "indexes_made": placed}
    finally:
        shard.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shard", type=Path, help="a shard directory to optimize instead of the settings' store")
    args = parser.parse_args()
    if args.shard is not None:
        print(json.dumps(optimize_shard(args.shard)))
    else:
        print(asyncio.run(optimize(KnowledgeSettings())))


if __name__ == "__main__":
    main()

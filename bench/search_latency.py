"""Search latency over HTTP, the query's embedding included, against the real API process.

For each store size the API runs as its own process (`python -m service`, consumer off) on a store
filled beforehand. Documents are real projections of generated events. Their vectors: the real
embeddings of the unique texts of the first events, and for the rest the vector of a random one of
those plus small noise (re-normalised): embedding 100k texts would take ~30 minutes on 2 cores,
and an HNSW search's cost does not depend on what the vectors mean. BM25 vectors are the real ones.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.report import peak_rss_mb, percentiles
from knowledge.embedder import FastembedEmbedder
from knowledge.projector import project
from knowledge.runtime import identity_of
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import bm25_of
from knowledge.store.factory import open_store
from knowledge.store.qdrant_edge import QdrantEdgeStore
from schemas.events import GameEvent
from scripts.sample_season import PLACES, SURNAMES, season

QUERIES = [
    "which expedition found a Bronze Age calendar?", "scholar defects to a foreign patron",
    "recruitment attempt failed", "symposium vote on opening the archive", "landmark discovery at the stone rows",
    "theory about writing and grain accounting", "admin adjusted reputation", "who was promoted to Director",
    "think tank bulletin", "expedition cancelled permit revoked", "mentorship begins", "faction investment in industry",
    "rival offer to poach a scholar", "retraction of findings", "table talk about a money pit",
    "the timeline advances a year", "conference on the lunar calendar", "nickname adopted", "game paused", "endowment",
]  # fmt: skip
ROOT = Path(__file__).resolve().parent.parent


async def fill_store(model: FastembedEmbedder, settings: KnowledgeSettings, size: int, embedded_events: int) -> None:
    """Store `size` documents; see the module docstring for their vectors."""
    rng = np.random.default_rng(5)
    documents = [project(GameEvent.model_validate(e)) for e in season(size, seed=99)]
    texts = list(dict.fromkeys(d.embedding_text for d in documents[:embedded_events]))
    base = np.asarray(await model.embed_documents(texts), dtype=np.float32)
    async with open_store(settings) as store:
        await store.ensure_collection(identity_of(model))
        for start in range(0, size, 1000):
            chunk = documents[start : start + 1000]
            picks = base[rng.integers(0, len(base), len(chunk))] + rng.normal(0, 0.02, (len(chunk), base.shape[1]))
            picks /= np.linalg.norm(picks, axis=1, keepdims=True)
            bm25 = [bm25_of(d) for d in chunk]
            await store.upsert(chunk, picks.astype(np.float32).tolist(), bm25)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_ready(base_url: str, process: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError("the API process exited")
            try:
                if (await client.get(base_url + "/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("the API did not become ready")


async def _load(base_url: str, clients: int, requests: int, filtered: bool) -> dict[str, Any]:
    rng = random.Random(clients * 1000 + int(filtered))
    latencies: list[float] = []
    errors = 0

    def body() -> dict[str, Any]:
        # A name and a place make nearly every query new, so the embedder's cache does not flatter the numbers.
        query = f"{rng.choice(QUERIES)} {rng.choice(SURNAMES).title()} {rng.choice(PLACES)}"
        request: dict[str, Any] = {"query": query, "top_k": 10, "mode": "hybrid"}  # the default users get
        if filtered:
            request["filters"] = rng.choice(
                [
                    {"category": ["press"], "occurred_after": "2025-03-10T00:00:00Z"},
                    {"player_id": rng.choice(["p.ada", "p.curie", "p.euler"])},
                    {"category": ["expedition", "scholar"], "game_year": 57},
                ]
            )
        return request

    async def client_loop(client: httpx.AsyncClient, count: int) -> None:
        nonlocal errors
        for _ in range(count):
            started = time.perf_counter()
            response = await client.post(base_url + "/v1/search", json=body())
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != 200

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await client_loop(client, 10)  # warm-up
        latencies.clear()
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for _ in range(clients):
                group.create_task(client_loop(client, requests // clients))
        elapsed = time.perf_counter() - started
    return {"clients": clients, "filters": filtered, "requests": len(latencies), "errors": errors,
            "requests_per_s": round(len(latencies) / elapsed, 1), **percentiles(latencies),
            "latencies_s": [round(x, 5) for x in latencies]}  # fmt: skip


async def measure(settings: KnowledgeSettings, requests: int, env: dict[str, str]) -> dict[str, Any]:
    """Start the API on `settings`' store and load it with 1 and 8 clients, with and without filters."""
    port = _free_port()
    api_env = {**os.environ, **env, "RUN_CONSUMER": "false", "API_PORT": str(port), "LOG_LEVEL": "WARNING"}
    api_env |= {"DATA_DIR": str(settings.data_dir), "COLLECTION_NAME": settings.collection_name}
    api_env["EDGE_OPTIMIZE_AFTER"] = "0"  # the store as it is, unoptimized or optimized by hand (see bench.optimize)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "service", cwd=ROOT, env=api_env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(base_url, process)
        runs = [await _load(base_url, c, requests, f) for c in (1, 8) for f in (False, True)]
        return {"runs": runs, "api_peak_rss_mb": peak_rss_mb(process.pid)}
    finally:
        if process.returncode is None:
            process.terminate()
            async with asyncio.timeout(60):
                await process.wait()


async def _optimize(model: FastembedEmbedder, settings: KnowledgeSettings) -> float:
    """What `python -m knowledge.store.optimize` does, timed."""
    async with QdrantEdgeStore.open(settings) as store:
        await store.ensure_collection(identity_of(model))
        started = time.perf_counter()
        await store.optimize()
        return round(time.perf_counter() - started, 1)


async def run(model: FastembedEmbedder, data_dir: Path, sizes: dict[str, Any]) -> dict[str, Any]:
    """Edge at each size, and qdrant-client local mode at the smallest."""
    results: dict[str, Any] = {}
    for size in sizes["search_store_sizes"]:
        settings = KnowledgeSettings(data_dir=data_dir, collection_name=f"search-{size}-{uuid.uuid4().hex[:6]}")
        await fill_store(model, settings, size, sizes["search_embedded_events"])
        results[f"edge_{size}"] = await measure(settings, sizes["search_requests"], {"STORE_BACKEND": "edge"})
        if size == max(sizes["search_store_sizes"]):
            seconds = await _optimize(model, settings)
            optimized = await measure(settings, sizes["search_requests"], {"STORE_BACKEND": "edge"})
            results[f"edge_{size}_optimized"] = {**optimized, "optimize_seconds": seconds}
    size = min(sizes["search_store_sizes"])
    local_path = data_dir / f"local-{uuid.uuid4().hex[:6]}"
    settings = KnowledgeSettings(
        data_dir=data_dir, store_backend="qdrant", qdrant_local_path=local_path, collection_name="search-local"
    )
    await fill_store(model, settings, size, sizes["search_embedded_events"])
    # Local mode filters in Python (seconds per filtered hybrid query at 10k): a few requests suffice.
    results[f"qdrant_local_{size}"] = await measure(
        settings,
        max(16, sizes["search_requests"] // 4),
        {"STORE_BACKEND": "qdrant", "QDRANT_LOCAL_PATH": str(local_path)},
    )
    return results

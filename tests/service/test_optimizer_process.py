"""`python -m service` optimizes its embedded store while it serves: a real process, the real broker,
model and Qdrant Edge, a real optimizing child process. Searches answer throughout, new events land in
the shard switched to, a restart opens it, and SIGTERM in the middle of an optimization exits cleanly
and leaves the store whole."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import httpx

from consumers.settings import ConsumerSettings
from scripts.sample_season import season
from tests.conftest import encode, produce
from tests.process import Served, fresh_topics, start_service, stop_service, until_indexed

OPTIMIZE_SOON = {"EDGE_OPTIMIZE_AFTER": "150", "EDGE_OPTIMIZE_CHECK_S": "0.3"}


def switched(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith('store_optimizations_total{outcome="switched"}'):
            return float(line.split()[-1])
    return 0.0


def shards(data_dir: Path) -> list[str]:
    return sorted(p.name for p in (data_dir / "edge").iterdir() if p.is_dir())


async def serving(kafka_bootstrap: str, data_dir: Path, seed: int) -> tuple[ConsumerSettings, Served]:
    """`python -m service`, soon to optimize, with 300 events of a season indexed."""
    consumer = await fresh_topics(kafka_bootstrap)
    await produce(kafka_bootstrap, consumer.topics[0], [encode(e) for e in season(300, seed=seed)])
    served = await asyncio.to_thread(start_service, data_dir, consumer, **OPTIMIZE_SOON)
    try:
        await until_indexed(served, 300)
    except BaseException:
        await asyncio.to_thread(stop_service, served)
        raise
    return consumer, served


async def search_until(served: Served, done: asyncio.Event) -> list[int]:
    """Search over and over until `done`; every status seen."""
    statuses = []
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        while not done.is_set():
            response = await client.post("/v1/search", json={"query": "expedition results", "top_k": 5})
            statuses.append(response.status_code)
            await asyncio.sleep(0.05)
    return statuses


async def test_the_service_switches_to_an_optimized_copy_while_it_serves(kafka_bootstrap: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    consumer, served = await serving(kafka_bootstrap, data_dir, 41)
    try:
        done = asyncio.Event()
        searching = asyncio.create_task(search_until(served, done))
        try:
            async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
                deadline = time.monotonic() + 120
                while switched((await client.get("/metrics")).text) < 1:
                    assert time.monotonic() < deadline, served.log_text()[-3000:]
                    await asyncio.sleep(0.2)
            await produce(kafka_bootstrap, consumer.topics[0], [encode(e) for e in list(season(340, seed=41))[300:]])
            await until_indexed(served, 340)  # written into the shard switched to
        finally:
            done.set()
            statuses = await searching
        assert statuses and set(statuses) == {200}, statuses
    finally:
        assert await asyncio.to_thread(stop_service, served) == 0, served.log_text()[-3000:]
    alias = json.loads((data_dir / "edge" / "great-work-knowledge.alias").read_text())
    assert alias["shard"].startswith("great-work-knowledge.opt")
    restarted = await asyncio.to_thread(start_service, data_dir, consumer)
    try:
        await until_indexed(restarted, 340, timeout_s=30)
    finally:
        await asyncio.to_thread(stop_service, restarted)
    assert shards(data_dir) == [alias["shard"]], "the shard replaced is deleted"
    assert "Traceback" not in served.log_text() + restarted.log_text()


async def test_sigterm_during_an_optimization_exits_cleanly_and_leaves_the_store_whole(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    consumer, served = await serving(kafka_bootstrap, data_dir, 43)
    try:
        deadline = time.monotonic() + 60
        while not any(name.startswith("great-work-knowledge.opt") for name in shards(data_dir)):
            assert time.monotonic() < deadline, served.log_text()[-3000:]
            await asyncio.sleep(0.05)
        started = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(served.process.wait, 15)
        took = time.monotonic() - started
    finally:
        await asyncio.to_thread(stop_service, served)
    assert code == 0 and took < 10, (code, took, served.log_text()[-3000:])
    assert len(shards(data_dir)) == 1, f"a copy was left behind: {shards(data_dir)}"
    restarted = await asyncio.to_thread(start_service, data_dir, consumer)
    try:
        await until_indexed(restarted, 300, timeout_s=30)
    finally:
        await asyncio.to_thread(stop_service, restarted)
    assert "Traceback" not in served.log_text() + restarted.log_text()

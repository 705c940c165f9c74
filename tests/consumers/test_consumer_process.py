"""`python -m consumers` as its own process: its /metrics port, and SIGTERM after a committed batch."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from consumers.settings import ConsumerSettings
from scripts.sample_season import season
from tests.conftest import ROOT, encode, free_port, produce, wait_until
from tests.consumers.test_ingest import committed_offsets


async def indexed_total(url: str) -> float:
    async with httpx.AsyncClient(timeout=2) as client:
        text = (await client.get(url)).text
    return sum(
        s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == "events_indexed_total"
    )


async def test_standalone_consumer_serves_metrics_and_stops_cleanly_on_sigterm(
    consumer_settings: ConsumerSettings, tmp_path: Path
) -> None:
    events = list(season(50, seed=61))
    await produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0], [encode(e) for e in events])
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": consumer_settings.kafka_bootstrap_servers,
        "KAFKA_TOPICS": consumer_settings.topics[0],
        "KAFKA_DLQ_TOPIC": consumer_settings.kafka_dlq_topic,
        "KAFKA_GROUP_ID": consumer_settings.kafka_group_id,
        "STORE_BACKEND": "qdrant",
        "QDRANT_LOCAL_PATH": str(tmp_path / "qdrant"),
        "DATA_DIR": str(tmp_path / "data"),
        "METRICS_PORT": str(port),
        "LOG_JSON": "true",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "consumers", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"

        async def all_indexed() -> bool:
            try:
                return await indexed_total(url) >= len(events)
            except httpx.HTTPError:
                return False

        await wait_until(all_indexed, 90, "the standalone consumer to index every event")
        async with httpx.AsyncClient(timeout=2) as client:
            families = text_string_to_metric_families((await client.get(url)).text)
        (stamp,) = [s.value for f in families for s in f.samples if s.name == "events_last_indexed_timestamp_seconds"]
        assert time.time() - 90 < stamp <= time.time(), "when its last batch was stored"
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert b"consumer_stopped" in stderr
    assert sum((await committed_offsets(consumer_settings)).values()) == len(events)

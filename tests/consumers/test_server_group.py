"""Production's shape on one Qdrant server: two `python -m consumers` processes in one group on a topic
of several partitions, one SIGKILLed mid-batch, and the API starting at the same moment. It needs a
Qdrant server shared by processes, so it runs only with `TESTS_QDRANT=testcontainers` (machines with
Docker); no Qdrant server binary can be had on the machines this project is built on, and local mode
belongs to one process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from qdrant_client import AsyncQdrantClient

from consumers.settings import ConsumerSettings
from knowledge.projector import point_id
from scripts.sample_season import season
from tests.conftest import ROOT, encode, free_port, on_qdrant_server, produce, wait_until
from tests.consumers.test_consumer_process import indexed_total
from tests.process import fresh_topics

pytestmark = pytest.mark.skipif(
    not on_qdrant_server(),
    reason="needs a Qdrant server shared by processes: TESTS_QDRANT=testcontainers on a machine with Docker "
    "(no Qdrant server binary can be had here)",
)


def process_env(consumer: ConsumerSettings, qdrant_url: str, collection: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": consumer.kafka_bootstrap_servers,
            "KAFKA_TOPICS": consumer.kafka_topics, "KAFKA_DLQ_TOPIC": consumer.kafka_dlq_topic,
            "KAFKA_INDEXED_TOPIC": consumer.kafka_indexed_topic, "KAFKA_GROUP_ID": consumer.kafka_group_id,
            "QDRANT_URL": qdrant_url, "COLLECTION_NAME": collection, "DATA_DIR": str(data_dir),
            "CONSUMER_MAX_BATCH": "32", "LOG_JSON": "true"}  # fmt: skip


async def test_two_consumers_and_the_api_start_together_one_is_killed_and_every_event_is_stored_once(
    kafka_bootstrap: str, qdrant_url: str, tmp_path: Path
) -> None:
    consumer = await fresh_topics(kafka_bootstrap)  # 3 partitions
    events = list(season(600, seed=17))
    await produce(kafka_bootstrap, consumer.topics[0], [encode(e) for e in events])
    collection = f"group-{uuid.uuid4().hex[:8]}"
    env = process_env(consumer, qdrant_url, collection, tmp_path / "data")
    metrics = [free_port(), free_port()]
    api_port = free_port()
    logs = [(tmp_path / f"p{i}.log").open("wb") for i in range(3)]
    roles = [("consumers", {"METRICS_PORT": str(metrics[i]), "KAFKA_TRANSACTIONAL_ID": f"tx-{collection}-{i}"})
             for i in range(2)] + [("service", {"RUN_CONSUMER": "false", "API_PORT": str(api_port)})]  # fmt: skip
    processes = [  # all at the same moment, on an empty server
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            cwd=ROOT,
            env={**env, **extra},
            stdout=logs[i],
            stderr=asyncio.subprocess.STDOUT,
        )
        for i, (module, extra) in enumerate(roles)
    ]
    try:

        async def some_indexed_by_the_first() -> bool:
            try:
                return await indexed_total(f"http://127.0.0.1:{metrics[0]}/metrics") >= 64
            except httpx.HTTPError:
                return False

        await wait_until(some_indexed_by_the_first, 120, "the first consumer to index a few batches")
        processes[0].send_signal(signal.SIGKILL)  # mid-stream: its batch in flight is not committed
        client = AsyncQdrantClient(url=qdrant_url, timeout=10)

        async def all_stored() -> bool:
            return (await client.count(collection, exact=True)).count >= len(events)

        await wait_until(all_stored, 180, "the surviving consumer to take over and store everything")
        assert (await client.count(collection, exact=True)).count == len(events), "each event exactly once"
        found = await client.retrieve(collection, [str(point_id(e["event_id"])) for e in events])
        assert len(found) == len(events)
        await client.close()
        assert processes[1].returncode is None, "the other consumer did not crash on start or takeover"
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"http://127.0.0.1:{api_port}/readyz", timeout=10)).status_code == 200
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        async with asyncio.timeout(60):
            await asyncio.gather(*(p.wait() for p in processes))
        for log in logs:
            log.close()

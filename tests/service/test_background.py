"""The API's background work: a relay that cannot reach its broker does not take search down, and a
consume loop that fails (here: fenced by another producer with its transactional id) stops the
process with exit code 1 instead of leaving an API whose model and store are closed."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from structlog.testing import capture_logs

from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.settings import KnowledgeSettings
from knowledge.store.base import KnowledgeStore
from scripts.sample_season import season
from service.app import create_app
from service.background import supervised
from service.deps import Runtime
from service.routers.health import readyz
from service.settings import AppSettings, ServiceSettings
from tests.conftest import encode, free_port, local_client, produce, wait_for, wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_an_api_whose_broker_is_unreachable_serves_search_while_its_relay_retries(
    knowledge_settings: KnowledgeSettings, consumer_settings: ConsumerSettings, embedder: FastembedEmbedder
) -> None:
    unreachable = consumer_settings.model_copy(
        update={"kafka_bootstrap_servers": f"127.0.0.1:{free_port()}", "retry_initial_s": 0.05, "retry_max_s": 0.2}
    )
    settings = AppSettings(service=ServiceSettings(run_consumer=False, live_notices=True),
                           knowledge=knowledge_settings, consumer=unreachable)  # fmt: skip
    with capture_logs() as logs, local_client(create_app(settings, embedder=embedder)) as client:
        wait_for(lambda: sum(line["event"] == "notice_relay_retry" for line in logs) >= 3, 60, "three relay retries")
        assert client.post("/v1/search", json={"query": "expedition"}).status_code == 200
        assert client.get("/readyz").status_code == 200
    assert not [line for line in logs if line["event"] == "background_task_failed"]


async def test_a_failed_background_task_is_named_by_readiness_and_asks_the_process_to_stop(
    embedder: FastembedEmbedder, store: KnowledgeStore
) -> None:
    runtime = Runtime(embedder=embedder, store=store)
    calls: list[str] = []

    async def fails() -> None:
        raise RuntimeError("a bug")

    async def finishes() -> None:
        return None

    await supervised("notice_relay", finishes(), runtime, lambda: calls.append("finished"))
    assert calls == [] and runtime.stopped == {}
    await supervised("consumer", fails(), runtime, lambda: calls.append("consumer"))
    assert calls == ["consumer"]
    response = await readyz(runtime)
    assert response.status_code == 503
    assert json.loads(response.body) == {
        "ready": False,
        "checks": {"model": "ok", "store": "ok", "consumer": "failing: stopped (RuntimeError)"},
    }


async def test_an_api_whose_consumer_is_fenced_exits_1(consumer_settings: ConsumerSettings, tmp_path: Path) -> None:
    tx_id = f"tx-{consumer_settings.kafka_group_id}"
    port = free_port()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": consumer_settings.kafka_bootstrap_servers,
           "KAFKA_TOPICS": consumer_settings.topics[0], "KAFKA_DLQ_TOPIC": consumer_settings.kafka_dlq_topic,
           "KAFKA_GROUP_ID": consumer_settings.kafka_group_id, "KAFKA_TRANSACTIONAL_ID": tx_id,
           "DATA_DIR": str(tmp_path), "API_PORT": str(port), "LOG_LEVEL": "WARNING"}  # fmt: skip
    events = list(season(20, seed=61))
    api = await asyncio.create_subprocess_exec(sys.executable, "-m", "service", cwd=ROOT, env=env)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            async def ten_indexed() -> bool:
                try:
                    return bool((await client.post("/v1/facets", json={})).json()["total"] == 10)
                except httpx.TransportError:  # not listening yet
                    return False

            await produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0],
                          [encode(e) for e in events[:10]])  # fmt: skip
            await wait_until(ten_indexed, 120, "the API to index the first ten events")
            # Another instance configured with the same transactional id starts: the broker fences the
            # first one's producer, whose next commit is refused for good.
            usurper = AIOKafkaProducer(
                bootstrap_servers=consumer_settings.kafka_bootstrap_servers, transactional_id=tx_id
            )
            await usurper.start()
            try:
                await produce(consumer_settings.kafka_bootstrap_servers, consumer_settings.topics[0],
                              [encode(e) for e in events[10:]])  # fmt: skip
                async with asyncio.timeout(120):
                    returncode = await api.wait()
            finally:
                await usurper.stop()
    finally:
        if api.returncode is None:
            api.kill()
            await api.wait()
    assert returncode == 1

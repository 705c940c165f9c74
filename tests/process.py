"""`python -m service` as its own process, for tests that must meet the server as real clients do:
real sockets, the real uvicorn with its WebSocket implementation, the real signal handling."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from consumers.settings import ConsumerSettings
from tests.conftest import ROOT, free_port


@dataclass
class Served:
    """A running `python -m service` and how to reach it."""

    url: str
    process: subprocess.Popen[bytes]
    consumer: ConsumerSettings
    log: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


async def fresh_topics(bootstrap: str, *, dlq_config: dict[str, str] | None = None) -> ConsumerSettings:
    """A new events topic (3 partitions), its DLQ and notices topic, and settings naming them."""
    name = f"proc.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(name, 3, 1, topic_configs={"max.message.bytes": str(12 * 1024 * 1024)}),
                NewTopic(name + ".dlq", 1, 1, topic_configs=dlq_config or {}),
                NewTopic(name + ".indexed", 1, 1),
            ]
        )
    finally:
        await admin.close()
    return ConsumerSettings(
        kafka_bootstrap_servers=bootstrap,
        kafka_topics=name,
        kafka_dlq_topic=name + ".dlq",
        kafka_indexed_topic=name + ".indexed",
        kafka_group_id=f"g-{name}",
        kafka_transactional_id=f"tx-{name}",
        consumer_poll_ms=100,
    )


def start_service(data_dir: Path, consumer: ConsumerSettings, port: int | None = None, **extra_env: str) -> Served:
    """Start the service on `port` (default: a free one); return once `/readyz` answers 200 (or fail
    with its log)."""
    port = port or free_port()
    env = {
        **os.environ,
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
        "DATA_DIR": str(data_dir),
        "KAFKA_BOOTSTRAP_SERVERS": consumer.kafka_bootstrap_servers,
        "KAFKA_TOPICS": consumer.kafka_topics,
        "KAFKA_DLQ_TOPIC": consumer.kafka_dlq_topic,
        "KAFKA_INDEXED_TOPIC": consumer.kafka_indexed_topic,
        "KAFKA_GROUP_ID": consumer.kafka_group_id,
        "KAFKA_TRANSACTIONAL_ID": consumer.kafka_transactional_id or "",
        "CONSUMER_POLL_MS": "100",
        "LOG_JSON": "true",
        **extra_env,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"service-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    served = Served(f"http://127.0.0.1:{port}", process, consumer, log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"python -m service exited {process.returncode}:\n{served.log_text()[-4000:]}")
        try:
            if httpx.get(served.url + "/readyz", timeout=5).status_code == 200:
                return served
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_service(served)
    raise AssertionError(f"python -m service was not ready in time:\n{served.log_text()[-4000:]}")


def stop_service(served: Served, timeout_s: float = 30) -> int:
    """SIGTERM, then wait; SIGKILL if it does not exit in time. Returns the exit code."""
    if served.process.poll() is None:
        served.process.terminate()
        try:
            served.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait(10)
    return served.process.returncode


async def until_indexed(
    served: Served, count: int, timeout_s: float = 120, headers: dict[str, str] | None = None
) -> None:
    """Wait until the service has stored `count` documents (`headers`: a key, where keys are configured)."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=served.url, timeout=10, headers=headers) as client:
        while time.monotonic() < deadline:
            response = await client.post("/v1/facets", json={})
            if response.status_code == 200 and response.json()["total"] >= count:
                return
            await asyncio.sleep(0.2)
    raise AssertionError(f"fewer than {count} documents stored in {timeout_s} s:\n{served.log_text()[-3000:]}")

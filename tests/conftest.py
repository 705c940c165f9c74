"""Shared fixtures: one real Kafka broker and one real model per session; per test a fresh topic,
group and store.

Kafka: `KAFKA_BOOTSTRAP_SERVERS` if set (scripts/test.sh starts the repo's broker and sets it);
else testcontainers' Kafka when `TESTS_KAFKA=testcontainers` (machines with Docker); else this
fixture starts the repo's broker itself (scripts/kafka.sh).

Qdrant: the server store's tests run on qdrant-client's local mode (the server code path; no Qdrant
server binary can be had here); with `TESTS_QDRANT=testcontainers` (machines with Docker) on a real
`qdrant/qdrant` in a container instead, and then the consumer and API tests, which use the embedded
store by default, run on that server too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.runtime import identity_of
from knowledge.settings import KnowledgeSettings
from knowledge.store.base import KnowledgeStore
from knowledge.store.qdrant_edge import QdrantEdgeStore
from knowledge.store.qdrant_server import QdrantServerStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """host:port of a real Kafka broker."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    if os.environ.get("TESTS_KAFKA") == "testcontainers":
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    port = os.environ.get("KAFKA_PORT", "19092")
    env = {**os.environ, "KAFKA_PORT": port}
    script = str(ROOT / "scripts" / "kafka.sh")
    running = subprocess.run([script, "status"], env=env, timeout=60, capture_output=True).returncode == 0
    subprocess.run([script, "start"], check=True, env=env, timeout=300)
    try:
        yield f"127.0.0.1:{port}"
    finally:  # a broker this session started is stopped (one left behind takes the port of the next run)
        if not running:
            subprocess.run([script, "stop"], check=False, env=env, timeout=300)


@pytest.fixture
def private_broker() -> Any:
    """A broker of the test's own (port 19592), so stopping or freezing it disturbs no other test:
    (bootstrap, a function running `scripts/kafka.sh <command>` for it)."""
    port = "19592"
    env = {**os.environ, "KAFKA_PORT": port}
    script = str(ROOT / "scripts" / "kafka.sh")
    subprocess.run([script, "start"], check=True, env=env, timeout=300)
    try:
        yield f"127.0.0.1:{port}", lambda cmd: subprocess.run([script, cmd], check=True, env=env, timeout=300)
    finally:
        subprocess.run([script, "stop"], check=False, env=env, timeout=300)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-home")


@pytest.fixture(scope="session")
def embedder(model_dir: Path) -> Iterator[FastembedEmbedder]:
    """The real model, loaded once."""
    model = FastembedEmbedder.load(KnowledgeSettings(data_dir=model_dir))
    yield model
    model.close()


#: The Qdrant server image of `TESTS_QDRANT=testcontainers` (the compose file's).
QDRANT_IMAGE = "qdrant/qdrant:v1.20.0"


def on_qdrant_server() -> bool:
    return os.environ.get("TESTS_QDRANT") == "testcontainers"


@pytest.fixture(scope="session")
def qdrant_url() -> Iterator[str]:
    """Where the server store meets Qdrant: `:memory:` (local mode), or a real server in a container."""
    if not on_qdrant_server():
        yield ":memory:"
        return
    from testcontainers.community.qdrant import QdrantContainer

    with QdrantContainer(QDRANT_IMAGE) as container:
        yield f"http://{container.rest_host_address}"


@pytest.fixture
def knowledge_settings(tmp_path: Path, request: pytest.FixtureRequest) -> KnowledgeSettings:
    """A fresh collection name; the embedded store in a fresh directory (or, with
    `TESTS_QDRANT=testcontainers`, the Qdrant server)."""
    settings = KnowledgeSettings(data_dir=tmp_path / "data", collection_name=f"test-{uuid.uuid4().hex[:8]}")
    if on_qdrant_server():
        url = request.getfixturevalue("qdrant_url")
        settings = settings.model_copy(update={"store_backend": "qdrant", "qdrant_url": url})
    return settings


@pytest.fixture(params=["edge", "qdrant-server"])
async def store(
    request: pytest.FixtureRequest, knowledge_settings: KnowledgeSettings, embedder: FastembedEmbedder
) -> AsyncIterator[KnowledgeStore]:
    """Each store implementation, on a fresh collection: the contract tests run on both."""
    if request.param == "edge":
        async with QdrantEdgeStore.open(knowledge_settings) as edge_store:
            await edge_store.ensure_collection(identity_of(embedder))
            yield edge_store
    else:
        url = request.getfixturevalue("qdrant_url")
        settings = knowledge_settings.model_copy(update={"store_backend": "qdrant", "qdrant_url": url})
        async with QdrantServerStore.open(settings) as server_store:
            await server_store.ensure_collection(identity_of(embedder))
            yield server_store


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:
    """A fresh 3-partition topic (and its DLQ) per test."""
    name = f"test.events.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(name, num_partitions=3, replication_factor=1),
                NewTopic(name + ".dlq", 1, 1),
                NewTopic(name + ".indexed", 1, 1),
            ]
        )
    finally:
        await admin.close()
    return name


@pytest.fixture
def consumer_settings(kafka_bootstrap: str, topic: str) -> ConsumerSettings:
    return ConsumerSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topics=topic,
        kafka_dlq_topic=topic + ".dlq",
        kafka_group_id=f"test-group-{uuid.uuid4().hex[:8]}",
        kafka_transactional_id=f"test-tx-{uuid.uuid4().hex[:8]}",
        kafka_indexed_topic=topic + ".indexed",
        consumer_poll_ms=100,
        consumer_max_batch=128,
    )


async def produce(bootstrap: str, topic: str, values: list[tuple[bytes | None, bytes | None]]) -> None:
    """Send (key, value) pairs and wait until every one is acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=8_000_000)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=value, key=key) for key, value in values]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def encode(event: dict[str, Any]) -> tuple[bytes, bytes]:
    """An event as a (key, value) record."""
    from scripts.sample_season import key_of

    return key_of(event).encode(), json.dumps(event).encode()


async def read_all(bootstrap: str, topic: str, expected: int, timeout_s: float = 20) -> list[Any]:
    """Read `expected` records of `topic` from the start (no group), or fail after `timeout_s`."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", isolation_level="read_committed"
    )
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(records) < expected:
                batch = await consumer.getmany(timeout_ms=200)
                for partition_records in batch.values():
                    records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout_s: float = 30, what: str = "") -> None:
    """Poll `condition` until it holds; fail with `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what or condition}")
        await asyncio.sleep(0.05)


def running_with(command_part: bytes) -> list[int]:
    """Pids of the running processes whose command line (arguments joined by NUL bytes) holds
    `command_part`: read from /proc, so a child's end is seen as the kernel sees it."""
    found = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and command_part in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
    return found


def wait_for(condition: Callable[[], bool], timeout_s: float = 30, what: str = "") -> None:
    """The same for synchronous tests (TestClient)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what or condition}")
        time.sleep(0.05)


def free_port() -> int:
    """A local TCP port nothing listens on (now): for a server to bind, or as a broker that is not there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def local_client(app: Any, **options: Any) -> Any:
    """A TestClient that calls as a local client does (Host 127.0.0.1:8000, which the default
    ALLOWED_HOSTS accept; TestClient's own `testserver` is refused like any unknown host)."""
    from fastapi.testclient import TestClient

    return TestClient(app, base_url="http://127.0.0.1:8000", **options)

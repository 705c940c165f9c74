"""The service's Kafka clients authenticate where the brokers ask for it: SASL (PLAIN here) through
every client (admin, group consumer, transactional producer), on the repo's real broker, whose second
listener takes SASL_PLAINTEXT (scripts/kafka/server.properties.in). A wrong password is refused."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import SecretStr

from consumers.loop import ingest_loop
from consumers.settings import ConsumerSettings
from knowledge.embedder import FastembedEmbedder
from knowledge.settings import KnowledgeSettings
from scripts.sample_season import key_of, season
from tests.faults.test_faults import edge_store


@pytest.fixture
def sasl_settings(kafka_bootstrap: str) -> ConsumerSettings:
    host, port = kafka_bootstrap.split(",")[0].rsplit(":", 1)
    sasl = f"{host}:{int(port) + 2}"
    try:
        socket.create_connection((host, int(port) + 2), timeout=2).close()
    except OSError:
        pytest.skip(f"no SASL listener at {sasl}: the broker is not one started by scripts/kafka.sh")
    topic = f"sasl.{uuid.uuid4().hex[:8]}"
    return ConsumerSettings(
        kafka_bootstrap_servers=sasl, kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="greatwork", kafka_sasl_password="local-test-secret",  # type: ignore[arg-type]
        kafka_topics=topic, kafka_dlq_topic=topic + ".dlq", kafka_indexed_topic=topic + ".indexed",
        kafka_group_id=f"g-{topic}", kafka_transactional_id=f"tx-{topic}", consumer_poll_ms=100,
    )  # fmt: skip


async def test_every_client_authenticates_with_sasl(
    sasl_settings: ConsumerSettings, embedder: FastembedEmbedder, knowledge_settings: KnowledgeSettings
) -> None:
    events = list(season(30, seed=5))
    async with edge_store(knowledge_settings, embedder) as store, ingest_loop(sasl_settings, embedder, store) as loop:
        producer = AIOKafkaProducer(**sasl_settings.client_options(), acks="all")
        await producer.start()
        try:
            for event in events:
                await producer.send(sasl_settings.topics[0], json.dumps(event).encode(), key=key_of(event).encode())
            await producer.flush()
        finally:
            await producer.stop()
        await loop.run_until_idle()
        assert await store.count() == len(events)


async def test_a_wrong_password_is_refused(sasl_settings: ConsumerSettings) -> None:
    wrong = sasl_settings.model_copy(update={"kafka_sasl_password": SecretStr("not-it")})
    producer = AIOKafkaProducer(**wrong.client_options(), request_timeout_ms=5000)
    with pytest.raises((KafkaError, TimeoutError)):
        async with asyncio.timeout(20):
            await producer.start()
    await producer.stop()

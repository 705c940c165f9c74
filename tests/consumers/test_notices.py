"""Indexed-event notices are best effort: one that cannot be sent is dropped, the rest still go, and
the caller (the consume loop, after its commit) is never stopped by them. Real broker, real producer."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from consumers.notices import IndexedNotices
from consumers.settings import ConsumerSettings
from knowledge.projector import project
from schemas.events import GameEvent
from schemas.notice import decode_notice
from scripts.sample_season import season
from tests.conftest import wait_until


async def test_a_notice_too_large_to_send_is_dropped_and_the_others_arrive(consumer_settings: ConsumerSettings) -> None:
    documents = [project(GameEvent.model_validate(e)) for e in season(3, seed=21)]
    # An event near MAX_MESSAGE_BYTES: its notice (payload, content and vector) exceeds the producer's
    # default 1 MiB max_request_size, which the broker-facing client refuses before sending.
    documents[1] = documents[1].model_copy(update={"content": "x" * 1_100_000})
    vectors = [[float(i)] * 384 for i, _ in enumerate(documents)]
    topic = consumer_settings.kafka_indexed_topic
    producer = AIOKafkaProducer(bootstrap_servers=consumer_settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await IndexedNotices(producer, topic, consumer_settings.kafka_request_timeout_s)(documents, vectors)
    finally:
        await producer.stop()

    received: list[tuple[str, list[float]]] = []
    reader = AIOKafkaConsumer(
        topic, bootstrap_servers=consumer_settings.kafka_bootstrap_servers, auto_offset_reset="earliest"
    )
    await reader.start()
    try:

        async def both_arrived() -> bool:
            for records in (await reader.getmany(timeout_ms=200)).values():
                received.extend((d.event_id, v) for d, v in map(decode_notice, (r.value for r in records)))
            return len(received) >= 2

        await wait_until(both_arrived, 30, "the two sendable notices")
    finally:
        await reader.stop()
    assert received == [(documents[0].event_id, vectors[0]), (documents[2].event_id, vectors[2])]

"""Reads the consumer's indexed-event notices (consumers/notices.py) into this API's hub, when the
consumer runs as its own process. Each API instance reads every notice (no group), from the end."""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer

from schemas.notice import decode_notice
from service.hub import Hub

log = structlog.get_logger(__name__)


async def relay_notices(bootstrap: str, topic: str, timeout_s: float, hub: Hub, stop: asyncio.Event) -> None:
    """Until `stop`: every notice on `topic` becomes a hub publication."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="latest",
        enable_auto_commit=False,
    )
    async with asyncio.timeout(timeout_s * 3):
        await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            documents, vectors = [], []
            for records in batches.values():
                for record in records:
                    try:
                        document, vector = decode_notice(record.value)
                    except (ValueError, KeyError, TypeError) as exc:
                        log.warning("notice_unreadable", offset=record.offset, error=str(exc))
                        continue
                    documents.append(document)
                    vectors.append(vector)
            hub.publish(documents, vectors)
    finally:
        await consumer.stop()

"""Reads the consumer's indexed-event notices (consumers/notices.py) into this API's hub, when the
consumer runs as its own process. Each API instance reads every notice (no group), from the end.

Best effort, like the notices themselves: while the broker cannot be reached the API serves
everything else, and the relay reconnects with exponential backoff (notices sent meanwhile are not
replayed: live subscriptions push what is indexed from now on)."""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from consumers.settings import ConsumerSettings
from schemas.notice import decode_notice
from service.hub import Hub

log = structlog.get_logger(__name__)


async def relay_notices(settings: ConsumerSettings, hub: Hub) -> None:
    """Until cancelled: every notice on the indexed topic becomes a hub publication."""
    delay = settings.retry_initial_s
    while True:
        consumer = AIOKafkaConsumer(
            settings.kafka_indexed_topic,
            **settings.client_options(),
            group_id=None,
            auto_offset_reset="latest",
            enable_auto_commit=False,
            request_timeout_ms=int(settings.kafka_request_timeout_s * 1000),
        )
        try:
            async with asyncio.timeout(settings.kafka_request_timeout_s * 3):
                await consumer.start()
            log.info("notice_relay_connected", topic=settings.kafka_indexed_topic)
            delay = settings.retry_initial_s
            await _forward(consumer, hub)
        except (KafkaError, TimeoutError, OSError) as exc:
            log.warning("notice_relay_retry", error=repr(exc), delay_s=round(delay, 2))
        finally:
            await consumer.stop()
        await asyncio.sleep(delay)
        delay = min(delay * 2, settings.retry_max_s)


async def _forward(consumer: AIOKafkaConsumer, hub: Hub) -> None:
    while True:
        batches = await consumer.getmany(timeout_ms=200)
        documents, vectors = [], []
        for records in batches.values():
            for record in records:
                try:
                    document, vector = decode_notice(record.value)
                except (ValueError, KeyError, TypeError, RecursionError) as exc:
                    log.warning("notice_unreadable", offset=record.offset, error=str(exc)[:300])
                    continue
                documents.append(document)
                vectors.append(vector)
        try:
            hub.publish(documents, vectors)
        except Exception:  # best effort: one bad notice must not take the API down
            log.exception("notice_not_published", notices=len(documents))

"""Reading the dead-letter topic (what is there, and why) and replaying it after a fix.

Replay sends each letter's original key and value back to the events topic, where the consumer
judges it again: a record that succeeds now is indexed; one that fails again becomes a new dead
letter. Replay reads only up to the DLQ's end as it was when the replay began, so the letters that
replay itself causes are never replayed in the same run (no loop); and it remembers how far it got
(a consumer group of its own, `<KAFKA_GROUP_ID>.dlq-replay`), so running it twice does not send the
same letters twice (`from_start` does, on purpose). A letter without its original value (`x-dlq-value`:
`null`, or `omitted` because the DLQ refused its size) cannot be replayed from the DLQ: it is counted
and named, with the source offset where the original still is while the topic retains it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from consumers.settings import ConsumerSettings
from schemas.dead_letter import (
    HEADER_DETAIL,
    HEADER_REASON,
    HEADER_SOURCE_OFFSET,
    HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
    HEADER_VALUE,
)


@dataclass(frozen=True)
class Letter:
    """One dead letter, as an operator wants to see it."""

    offset: int
    reason: str
    detail: str
    source: str  # topic:partition:offset
    value_bytes: int
    replayable: bool


@dataclass
class Summary:
    """What the DLQ holds: counts by reason, and the first few letters of each."""

    total: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[Letter]] = field(default_factory=dict)


@dataclass
class Replayed:
    """What a replay did."""

    sent: int = 0
    skipped_reason: int = 0
    not_replayable: list[Letter] = field(default_factory=list)


def letter(record: Any) -> Letter:
    """A DLQ record as a Letter."""
    headers = {name: (value or b"").decode("utf-8", "replace") for name, value in record.headers}
    source = ":".join(headers.get(h, "?") for h in (HEADER_SOURCE_TOPIC, HEADER_SOURCE_PARTITION, HEADER_SOURCE_OFFSET))
    return Letter(
        offset=record.offset,
        reason=headers.get(HEADER_REASON, "?"),
        detail=headers.get(HEADER_DETAIL, ""),
        source=source,
        value_bytes=len(record.value or b""),
        replayable=HEADER_VALUE not in headers and bool(record.value),
    )


async def _each(settings: ConsumerSettings, group: str | None, from_start: bool) -> Any:
    """A read-committed consumer of the DLQ from its start (or the group's position) to its end now."""
    consumer = AIOKafkaConsumer(
        **settings.client_options(),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        request_timeout_ms=int(settings.kafka_request_timeout_s * 1000),
    )
    await consumer.start()
    admin = AIOKafkaAdminClient(**settings.client_options())
    await admin.start()
    try:
        described = await admin.describe_topics([settings.kafka_dlq_topic])
    finally:
        await admin.close()
    found = sorted(p["partition"] for t in described for p in t.get("partitions", []))
    partitions = [TopicPartition(settings.kafka_dlq_topic, p) for p in found]
    consumer.assign(partitions)
    if from_start or group is None:
        await consumer.seek_to_beginning(*partitions)
    return consumer, partitions


async def _read_to_end(consumer: Any, partitions: list[TopicPartition], timeout_s: float) -> list[Any]:
    ends = await consumer.end_offsets(partitions)
    records: list[Any] = []
    async with asyncio.timeout(timeout_s):
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(*partitions, timeout_ms=500, max_records=1000)
            for tp, got in batch.items():
                records += [r for r in got if r.offset < ends[tp]]
    return records


async def summarize(settings: ConsumerSettings, examples: int = 3, timeout_s: float = 60) -> Summary:
    """Counts by reason and the first `examples` letters of each reason."""
    consumer, partitions = await _each(settings, None, True)
    try:
        records = await _read_to_end(consumer, partitions, timeout_s)
    finally:
        await consumer.stop()
    summary = Summary(total=len(records))
    for record in records:
        found = letter(record)
        summary.by_reason[found.reason] += 1
        shown = summary.examples.setdefault(found.reason, [])
        if len(shown) < examples:
            shown.append(found)
    return summary


async def replay(
    settings: ConsumerSettings, reason: str | None = None, from_start: bool = False, timeout_s: float = 120
) -> Replayed:
    """Send the letters (of `reason`, or all) back to the first events topic; see the module's notes."""
    consumer, partitions = await _each(settings, f"{settings.kafka_group_id}.dlq-replay", from_start)
    producer = AIOKafkaProducer(**settings.client_options(), acks="all", enable_idempotence=True)
    await producer.start()
    result = Replayed()
    try:
        records = await _read_to_end(consumer, partitions, timeout_s)
        deliveries = []
        for record in records:
            found = letter(record)
            if reason is not None and found.reason != reason:
                result.skipped_reason += 1
            elif not found.replayable:
                result.not_replayable.append(found)
            else:
                deliveries.append(await producer.send(settings.topics[0], value=record.value, key=record.key))
        await asyncio.gather(*deliveries)
        result.sent = len(deliveries)
        if records:  # remember how far this replay got, only once everything it sent is acknowledged
            await consumer.commit({tp: await consumer.position(tp) for tp in partitions})
    finally:
        await producer.stop()
        await consumer.stop()
    return result

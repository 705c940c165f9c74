"""The end of a batch: its dead letters and its offsets, written in one Kafka transaction.

Both land or neither does, so the dead-letter topic holds each bad record exactly once (for readers
with `isolation_level=read_committed`) and an offset is never committed for a record that is neither
stored nor dead-lettered. The transactional id is stable per instance: a restarted consumer fences
its predecessor's unfinished transaction at once instead of waiting for it to time out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import TopicPartition

from schemas.dead_letter import DeadLetter

log = structlog.get_logger(__name__)


class TransactionalCommitter:
    """Commits batches through a transactional producer."""

    def __init__(self, producer: Any, dlq_topic: str, group_id: str, timeout_s: float) -> None:
        self._producer = producer
        self._dlq_topic = dlq_topic
        self._group_id = group_id
        self._timeout_s = timeout_s

    async def commit(self, letters: Sequence[DeadLetter], offsets: Mapping[TopicPartition, int]) -> None:
        """Write `letters` to the DLQ and commit `offsets` for the group, atomically."""
        failed_at = datetime.now(UTC).isoformat()
        async with asyncio.timeout(self._timeout_s), self._producer.transaction():
            for letter in letters:
                await self._producer.send(
                    self._dlq_topic, value=letter.value, key=letter.key, headers=letter.headers(failed_at)
                )
            await self._producer.send_offsets_to_transaction(dict(offsets), self._group_id)
        for letter in letters:
            log.warning(
                "event_dead_lettered",
                reason=letter.reason.value,
                detail=letter.detail[:300],
                topic=letter.source_topic,
                partition=letter.source_partition,
                offset=letter.source_offset,
            )

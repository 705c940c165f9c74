"""The dead-letter writer: the original bytes, intact, with headers naming the reason and the source."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from schemas.dead_letter import DeadLetter

log = structlog.get_logger(__name__)


class DeadLetterSink(Protocol):
    """Where bad records go. `send` returns only once every letter is durably written."""

    async def send(self, letters: Sequence[DeadLetter]) -> None: ...


class KafkaDeadLetterSink:
    """Writes dead letters to a Kafka topic with an idempotent producer (acks=all)."""

    def __init__(self, producer: Any, topic: str, timeout_s: float) -> None:
        self._producer = producer
        self._topic = topic
        self._timeout_s = timeout_s

    async def send(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        failed_at = datetime.now(UTC).isoformat()
        async with asyncio.timeout(self._timeout_s):
            futures = [
                await self._producer.send(
                    self._topic, value=letter.value, key=letter.key, headers=letter.headers(failed_at)
                )
                for letter in letters
            ]
            await asyncio.gather(*futures)
        for letter in letters:
            log.warning(
                "event_dead_lettered",
                reason=letter.reason.value,
                detail=letter.detail[:300],
                topic=letter.source_topic,
                partition=letter.source_partition,
                offset=letter.source_offset,
            )

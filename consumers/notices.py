"""Notices of what was indexed, on a Kafka topic that every API instance reads for live subscriptions
(when the consumer runs as its own process). Best effort: they are pushes to waiting clients, not
the record of truth (the store is), so a notice lost in a crash is not redelivered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from schemas.documents import DocumentBase, to_payload


class IndexedNotices:
    """Publishes one notice per indexed document: its payload and its vector."""

    def __init__(self, producer: Any, topic: str, timeout_s: float) -> None:
        self._producer = producer
        self._topic = topic
        self._timeout_s = timeout_s

    async def __call__(self, documents: Sequence[DocumentBase], vectors: Sequence[list[float]]) -> None:
        async with asyncio.timeout(self._timeout_s):
            futures = [
                await self._producer.send(
                    self._topic,
                    json.dumps({"document": to_payload(d), "vector": v}).encode(),
                    key=d.event_id.encode(),
                )
                for d, v in zip(documents, vectors, strict=True)
            ]
            await asyncio.gather(*futures)

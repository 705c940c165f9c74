"""Notices of what was indexed, on a Kafka topic that every API instance reads for live subscriptions
(when the consumer runs as its own process). Best effort: they are pushes to waiting clients, not
the record of truth (the store is), so a notice that cannot be sent is logged and dropped, and ingest
goes on; a notice lost in a crash is not redelivered."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import structlog
from aiokafka.errors import KafkaError

from schemas.documents import DocumentBase
from schemas.notice import encode_notice

log = structlog.get_logger(__name__)


class IndexedNotices:
    """Publishes one notice per indexed document: its payload and its vector."""

    def __init__(self, producer: Any, topic: str, timeout_s: float) -> None:
        self._producer = producer
        self._topic = topic
        self._timeout_s = timeout_s

    async def __call__(self, documents: Sequence[DocumentBase], vectors: Sequence[list[float]]) -> None:
        failures: list[BaseException] = []
        try:
            async with asyncio.timeout(self._timeout_s):
                deliveries = []
                for document, vector in zip(documents, vectors, strict=True):
                    try:  # refused before it is sent, e.g. a notice larger than the producer's max_request_size
                        deliveries.append(await self._send(document, vector))
                    except KafkaError as exc:
                        failures.append(exc)
                outcomes = await asyncio.gather(*deliveries, return_exceptions=True)
                failures += [o for o in outcomes if isinstance(o, BaseException)]
        except TimeoutError as exc:
            failures.append(exc)
        if failures:
            log.warning("indexed_notices_dropped", failed=len(failures), of=len(documents), error=repr(failures[0]))

    async def _send(self, document: DocumentBase, vector: list[float]) -> Any:
        return await self._producer.send(self._topic, encode_notice(document, vector), key=document.event_id.encode())

"""One batch, end to end: decode -> project -> embed -> upsert; bad records become dead letters.

The batch succeeds as a whole or raises (an outage: the loop retries it). A batch the store refuses
for good (`StoreRejected`) is split in halves until the refused documents are found: those become
`store_rejected` dead letters with the store's message, the rest is stored. The loop then writes the
dead letters and commits the offsets together (consumers/committer.py), only after `process` returned.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from consumers.decoding import decode_event
from consumers.errors import BadEvent
from knowledge.embedder import Embedder
from knowledge.errors import StoreRejected
from knowledge.metrics import EMBED_SECONDS, INGEST_TO_SEARCHABLE, UPSERT_SECONDS
from knowledge.projector import project
from knowledge.sparse import Sparse, bm25_of
from knowledge.store.base import KnowledgeStore
from knowledge.tracing import tracer
from knowledge.versioning import is_older, stored_version, version_of
from schemas.dead_letter import DeadLetter, DeadLetterReason
from schemas.documents import DocumentBase, KafkaSource


@dataclass
class BatchResult:
    """What one batch did."""

    indexed: list[DocumentBase] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    #: (topic, partition) -> next offset to commit (last processed + 1)
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    #: the vectors of `indexed`, in order
    vectors: list[list[float]] = field(default_factory=list)
    #: documents refused because the store holds a newer version of the same event
    stale: list[DocumentBase] = field(default_factory=list)


class Pipeline:
    """Turns Kafka records into stored documents."""

    def __init__(self, embedder: Embedder, store: KnowledgeStore, max_message_bytes: int) -> None:
        self._embedder = embedder
        self._store = store
        self._max_bytes = max_message_bytes

    async def _upsert_splitting(
        self, documents: list[DocumentBase], vectors: list[list[float]], sparse: list[Sparse]
    ) -> list[tuple[int, str]]:
        """Store what the store accepts; return (index, the store's reason) of each document it refused."""
        try:
            await self._store.upsert(documents, vectors, sparse)
            return []
        except StoreRejected as exc:
            if len(documents) == 1:
                return [(0, str(exc))]
        half = len(documents) // 2
        first = await self._upsert_splitting(documents[:half], vectors[:half], sparse[:half])
        second = await self._upsert_splitting(documents[half:], vectors[half:], sparse[half:])
        return first + [(half + i, reason) for i, reason in second]

    def _to_document(self, record: Any) -> DocumentBase:
        event = decode_event(record.value, self._max_bytes)
        return project(
            event,
            KafkaSource(
                topic=record.topic, partition=record.partition, offset=record.offset, timestamp_ms=record.timestamp
            ),
        )

    async def _drop_stale(self, documents: list[DocumentBase]) -> tuple[list[DocumentBase], list[DocumentBase]]:
        """Split off the documents whose stored version is newer (one lookup for the batch)."""
        if not documents:
            return [], []
        stored = {p.get("event_id"): p for p in await self._store.retrieve([d.id for d in documents])}
        fresh: list[DocumentBase] = []
        stale: list[DocumentBase] = []
        for document in documents:
            previous = stored_version(stored[document.event_id]) if document.event_id in stored else None
            (stale if previous is not None and is_older(version_of(document), previous) else fresh).append(document)
        return fresh, stale

    async def _checked_and_embedded(
        self, candidates: list[DocumentBase]
    ) -> tuple[list[DocumentBase], list[DocumentBase], list[list[float]]]:
        """The fresh documents, the stale ones, and the fresh ones' vectors. The model
        starts on the whole batch at once, while the store is asked for the versions it holds: the
        model's thread is the pipeline's bottleneck, so it must not wait for the event loop to come
        back from other work (a burst of live deliveries) between the two. A stale document (rare) is
        embedded for nothing."""
        if not candidates:
            return [], [], []
        started = time.perf_counter()
        embedding = self._embedder.embed_documents([d.embedding_text for d in candidates])
        try:
            fresh, stale = await self._drop_stale(candidates)
            with tracer().start_as_current_span("embed", attributes={"documents": len(candidates)}):
                vectors = await embedding
        except BaseException:
            embedding.cancel()  # (a model call already running finishes in its thread, unread)
            raise
        EMBED_SECONDS.observe(time.perf_counter() - started)
        kept = {id(d) for d in fresh}
        return fresh, stale, [v for d, v in zip(candidates, vectors, strict=True) if id(d) in kept]

    async def process(self, records: Sequence[Any]) -> BatchResult:
        """Store the valid records; return them, the dead letters and the offsets to commit. Raise if not stored."""
        with tracer().start_as_current_span("consume_batch", attributes={"records": len(records)}):
            return await self._process(records)

    async def _process(self, records: Sequence[Any]) -> BatchResult:
        result = BatchResult()
        by_id: dict[str, DocumentBase] = {}
        record_of: dict[int, Any] = {}  # id(document) -> its record
        for record in records:
            tp = (record.topic, record.partition)
            result.next_offsets[tp] = max(result.next_offsets.get(tp, 0), record.offset + 1)
            try:
                document = self._to_document(record)
            except BadEvent as bad:
                result.dead_letters.append(_dead_letter(record, bad.reason, bad.detail))
                continue
            record_of[id(document)] = record
            # The same event twice in one batch: the newer version wins, as it would across batches.
            earlier = by_id.get(document.event_id)
            if earlier is not None and is_older(version_of(document), version_of(earlier)):
                result.stale.append(document)
                continue
            if earlier is not None and is_older(version_of(earlier), version_of(document)):
                result.stale.append(earlier)
            by_id[document.event_id] = document
        result.indexed, stale, result.vectors = await self._checked_and_embedded(list(by_id.values()))
        result.stale.extend(stale)
        if result.indexed:
            sparse = [bm25_of(d) for d in result.indexed]
            with tracer().start_as_current_span("upsert"), UPSERT_SECONDS.time():
                refused = await self._upsert_splitting(result.indexed, result.vectors, sparse)
            for index, reason in refused:
                record = record_of[id(result.indexed[index])]
                result.dead_letters.append(_dead_letter(record, DeadLetterReason.STORE_REJECTED, reason))
            if refused:
                gone = {index for index, _ in refused}
                kept = [i for i in range(len(result.indexed)) if i not in gone]
                result.indexed = [result.indexed[i] for i in kept]
                result.vectors = [result.vectors[i] for i in kept]
            searchable_ms = time.time() * 1000
            for document in result.indexed:
                if document.source is not None and document.source.timestamp_ms is not None:
                    INGEST_TO_SEARCHABLE.observe(max(0.0, searchable_ms - document.source.timestamp_ms) / 1000)
        return result


def _dead_letter(record: Any, reason: DeadLetterReason, detail: str) -> DeadLetter:
    return DeadLetter(
        reason=reason,
        detail=detail,
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        source_timestamp_ms=record.timestamp,
        key=record.key,
        value=record.value,
    )

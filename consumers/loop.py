"""The consume loop: getmany -> pipeline -> commit, in a consumer group.

At-least-once: offsets are committed only after the batch's documents are stored and its dead
letters written; point ids derive from event ids, so a redelivered event overwrites itself and the
effect is exactly once. A transient failure (store or broker) retries the same batch with backoff
and never sends it to the DLQ. On revoke, the batch in flight finishes and is committed first.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, KafkaError, TopicAlreadyExistsError

from consumers.dead_letter import KafkaDeadLetterSink
from consumers.pipeline import BatchResult, Pipeline
from consumers.settings import ConsumerSettings
from knowledge.embedder import Embedder
from knowledge.errors import TransientError
from knowledge.metrics import (
    BATCH_RETRIES,
    BATCH_SIZE,
    COMMIT_FAILURES,
    CONSUMER_LAG,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_INDEXED,
)
from knowledge.store.base import KnowledgeStore
from schemas.documents import DocumentBase

log = structlog.get_logger(__name__)

IndexedCallback = Callable[[Sequence[DocumentBase]], Awaitable[None]]


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Lets the batch in flight finish (and commit) before partitions move to another consumer."""

    def __init__(self, batch_lock: asyncio.Lock) -> None:
        self._batch_lock = batch_lock

    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self._batch_lock:
            log.info("partitions_revoked", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("partitions_assigned", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in assigned))


class IngestLoop:
    """Consumes batches until told to stop; each batch is stored before its offsets are committed."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        pipeline: Pipeline,
        settings: ConsumerSettings,
        on_indexed: IndexedCallback | None = None,
    ) -> None:
        self._consumer = consumer
        self._pipeline = pipeline
        self._settings = settings
        self._on_indexed = on_indexed
        self.batch_lock = asyncio.Lock()
        self.indexed_total = 0
        self.dead_lettered_total = 0
        self.batches_total = 0

    @property
    def consumer(self) -> AIOKafkaConsumer:
        """The Kafka consumer (readiness checks ask it for metadata)."""
        return self._consumer

    def subscribe(self) -> None:
        """Join the group on the configured topics, committing in-flight work on every revoke."""
        self._consumer.subscribe(self._settings.topics, listener=_CommitOnRevoke(self.batch_lock))

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the batch in flight is finished and committed first."""
        while not stop.is_set():
            await self.poll_once(stop)
        log.info("consumer_stopped", indexed=self.indexed_total, dead_lettered=self.dead_lettered_total)

    async def run_until_idle(self, stop: asyncio.Event | None = None, idle_polls: int = 2) -> None:
        """Consume until every assigned partition is read to its end (like a burst worker), then return."""
        stop = stop or asyncio.Event()
        quiet = 0
        while not stop.is_set() and quiet < idle_polls:
            got = await self.poll_once(stop)
            quiet = quiet + 1 if got == 0 and await self._caught_up() else 0

    async def _caught_up(self) -> bool:
        assigned = self._consumer.assignment()
        if not assigned:
            return False
        async with asyncio.timeout(self._settings.kafka_request_timeout_s):
            ends = await self._consumer.end_offsets(list(assigned))
        for tp in assigned:
            if await self._consumer.position(tp) < ends[tp]:
                return False
        return True

    async def poll_once(self, stop: asyncio.Event) -> int:
        """Fetch one batch, process it, commit it; return the number of records handled."""
        batches = await self._consumer.getmany(
            timeout_ms=self._settings.consumer_poll_ms, max_records=self._settings.consumer_max_batch
        )
        records = [record for partition_records in batches.values() for record in partition_records]
        if not records:
            return 0
        for record in records:
            EVENTS_CONSUMED.labels(record.topic).inc()
        BATCH_SIZE.observe(len(records))
        async with self.batch_lock:
            result = await self._process_with_retry(records, stop)
            if result is None:
                return 0  # stopped while the store was down: nothing committed, all will be redelivered
            await self._commit(result)
        self.batches_total += 1
        self.indexed_total += len(result.indexed)
        self.dead_lettered_total += len(result.dead_letters)
        for document in result.indexed:
            EVENTS_INDEXED.labels(document.action).inc()
        for letter in result.dead_letters:
            EVENTS_DEAD_LETTERED.labels(letter.reason.value).inc()
        await self._record_lag()
        log.info(
            "batch_indexed",
            records=len(records),
            indexed=len(result.indexed),
            dead_lettered=len(result.dead_letters),
        )
        if self._on_indexed is not None and result.indexed:
            await self._on_indexed(result.indexed)
        return len(records)

    async def _record_lag(self) -> None:
        """Lag per assigned partition: the partition's end (as of the last fetch) minus our position."""
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                position = await self._consumer.position(tp)  # known locally after a fetch: no request
                CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - position))

    async def _process_with_retry(self, records: list[Any], stop: asyncio.Event) -> BatchResult | None:
        delay = self._settings.retry_initial_s
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._pipeline.process(records)
            except (TransientError, KafkaError, TimeoutError) as exc:
                if not _is_transient(exc):
                    raise
                BATCH_RETRIES.inc()
                log.warning("batch_retry", attempt=attempt, delay_s=round(delay, 2), error=str(exc))
            pause = delay * random.uniform(0.5, 1.0)  # jitter
            try:
                async with asyncio.timeout(pause):
                    await stop.wait()
                return None
            except TimeoutError:
                delay = min(delay * 2, self._settings.retry_max_s)

    async def _commit(self, result: BatchResult) -> None:
        offsets = {
            TopicPartition(topic, partition): offset for (topic, partition), offset in result.next_offsets.items()
        }
        try:
            async with asyncio.timeout(self._settings.kafka_request_timeout_s):
                await self._consumer.commit(offsets)
        except CommitFailedError as exc:
            COMMIT_FAILURES.inc()
            # The group moved on (rebalance): the new owner re-reads these records and overwrites the
            # same points. Nothing is lost; the duplicate work is idempotent.
            log.warning("commit_failed", error=str(exc))


def _is_transient(exc: BaseException) -> bool:
    """Store and timeout failures, and the broker errors aiokafka marks retriable."""
    if isinstance(exc, KafkaError):
        return bool(exc.retriable)
    return isinstance(exc, TransientError | TimeoutError)


async def ensure_topics(settings: ConsumerSettings) -> None:
    """Create the event topics and the DLQ if they do not exist (a broker may forbid it: then it logs)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        request_timeout_ms=int(settings.kafka_request_timeout_s * 1000),
    )
    async with asyncio.timeout(settings.kafka_request_timeout_s * 3):
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [*settings.topics, settings.kafka_dlq_topic]
            missing = [NewTopic(t, settings.kafka_topic_partitions, 1) for t in wanted if t not in existing]
            if missing:
                try:
                    await admin.create_topics(missing)
                    log.info("topics_created", topics=[t.name for t in missing])
                except TopicAlreadyExistsError:
                    pass  # another instance created them first
        finally:
            await admin.close()


@asynccontextmanager
async def kafka_clients(
    settings: ConsumerSettings,
) -> AsyncIterator[tuple[AIOKafkaConsumer, AIOKafkaProducer]]:
    """A started group consumer (manual commit) and DLQ producer, stopped on exit."""
    if settings.kafka_create_topics:
        await ensure_topics(settings)
    timeout_ms = int(settings.kafka_request_timeout_s * 1000)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.kafka_group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.consumer_max_batch,
        metadata_max_age_ms=30_000,
        request_timeout_ms=max(timeout_ms, 5000),
        fetch_max_bytes=max(52428800, settings.max_message_bytes * 2),
        max_partition_fetch_bytes=max(1048576, settings.max_message_bytes * 2),
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=max(timeout_ms, 5000),
        max_request_size=max(1048576, settings.max_message_bytes * 2),
    )
    async with asyncio.timeout(settings.kafka_request_timeout_s * 3):
        await producer.start()
    try:
        async with asyncio.timeout(settings.kafka_request_timeout_s * 3):
            await consumer.start()
        try:
            yield consumer, producer
        finally:
            await consumer.stop()
    finally:
        await producer.stop()


@asynccontextmanager
async def ingest_loop(
    settings: ConsumerSettings,
    embedder: Embedder,
    store: KnowledgeStore,
    on_indexed: IndexedCallback | None = None,
) -> AsyncIterator[IngestLoop]:
    """A subscribed IngestLoop with its Kafka clients, closed on exit."""
    async with kafka_clients(settings) as (consumer, producer):
        sink = KafkaDeadLetterSink(producer, settings.kafka_dlq_topic, settings.kafka_request_timeout_s)
        pipeline = Pipeline(embedder, store, sink, settings.max_message_bytes)
        loop = IngestLoop(consumer, pipeline, settings, on_indexed)
        loop.subscribe()
        yield loop

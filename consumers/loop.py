"""The consume loop: getmany -> pipeline -> commit, in a consumer group.

At-least-once into the store, exactly-once in effect: a batch's offsets are committed (together with
its dead letters, in one transaction) only after its documents are stored, and point ids derive from
event ids, so a redelivered event overwrites itself. A transient failure (store or broker) retries
the same step with exponential backoff and jitter, pauses fetching so memory stays bounded, opens the
circuit breaker after repeated failures, and never sends anything to the DLQ. One batch is in flight
at a time; on revoke, that batch finishes and commits first.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, KafkaError, KafkaTimeoutError, TopicAlreadyExistsError

from consumers.committer import TransactionalCommitter
from consumers.pipeline import BatchResult, Pipeline
from consumers.settings import ConsumerSettings
from knowledge.breaker import CircuitBreaker
from knowledge.embedder import Embedder
from knowledge.errors import TransientError
from knowledge.metrics import (
    BATCH_RETRIES,
    BATCH_SIZE,
    COMMIT_FAILURES,
    CONSUMER_LAG,
    CONSUMER_LAST_BATCH_AGE,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_INDEXED,
    LAST_INDEXED,
    STALE_WRITES_REJECTED,
)
from knowledge.store.base import KnowledgeStore
from schemas.documents import DocumentBase

log = structlog.get_logger(__name__)

T = TypeVar("T")
#: Told of every stored batch (documents and their vectors), after its commit: live subscriptions.
IndexedCallback = Callable[[Sequence[DocumentBase], Sequence[list[float]]], Awaitable[None]]


class _Stopped(Exception):
    """The stop event was set while a step was waiting to be retried."""


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Lets the batch in flight finish (and commit) before partitions move to another consumer."""

    def __init__(self, batch_lock: asyncio.Lock) -> None:
        self._batch_lock = batch_lock

    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self._batch_lock:
            log.info("partitions_revoked", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("partitions_assigned", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in assigned))


def _is_transient(exc: BaseException) -> bool:
    """Store and timeout failures, and the broker errors aiokafka marks retriable (its producer's
    KafkaTimeoutError is not marked so, but a broker that did not answer in time is an outage)."""
    if isinstance(exc, KafkaTimeoutError):
        return True
    if isinstance(exc, KafkaError):
        return bool(exc.retriable)
    return isinstance(exc, TransientError | TimeoutError | ConnectionError)


class IngestLoop:
    """Consumes batches until told to stop; each batch is stored before its offsets are committed."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        pipeline: Pipeline,
        committer: TransactionalCommitter,
        settings: ConsumerSettings,
        breaker: CircuitBreaker | None = None,
        on_indexed: IndexedCallback | None = None,
    ) -> None:
        self._consumer = consumer
        self._pipeline = pipeline
        self._committer = committer
        self._settings = settings
        self.breaker = breaker or CircuitBreaker()
        self._on_indexed = on_indexed
        self.batch_lock = asyncio.Lock()
        self.indexed_total = 0
        self.dead_lettered_total = 0
        self.batches_total = 0
        #: next offset to read per partition, as this loop last committed it
        self._done: dict[TopicPartition, int] = {}
        self._last_progress = time.monotonic()
        CONSUMER_LAST_BATCH_AGE.set_function(lambda: time.monotonic() - self._last_progress)

    @property
    def consumer(self) -> AIOKafkaConsumer:
        """The Kafka consumer (readiness checks ask it for metadata)."""
        return self._consumer

    def subscribe(self) -> None:
        """Join the group on the configured topics, committing in-flight work on every revoke."""
        self._consumer.subscribe(self._settings.topics, listener=_CommitOnRevoke(self.batch_lock))

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the batch in flight is finished and committed first. Lag is
        measured on its own meanwhile, so it keeps telling the truth while a batch is retried."""
        watcher = asyncio.create_task(self._watch_lag())
        try:
            while not stop.is_set():
                await self.poll_once(stop)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
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
        """Fetch one batch, store it, commit it; return the number of records handled (0 if stopped)."""
        batches = await self._consumer.getmany(
            timeout_ms=self._settings.consumer_poll_ms, max_records=self._settings.consumer_max_batch
        )
        records = [record for partition_records in batches.values() for record in partition_records]
        if not records:
            self._last_progress = time.monotonic()  # nothing to do is not a stall
            return 0
        for record in records:
            EVENTS_CONSUMED.labels(record.topic).inc()
        BATCH_SIZE.observe(len(records))
        async with self.batch_lock:
            try:
                result = await self._retrying("store", lambda: self._pipeline.process(records), stop)
                await self._retrying("commit", lambda: self._commit(result), stop)
            except _Stopped:
                # Stopped while a step kept failing: nothing of this batch is committed, so all of it
                # is read again by whoever owns these partitions next.
                return 0
        self._count(result)
        self._last_progress = time.monotonic()
        for (topic, partition), offset in result.next_offsets.items():
            self._done[TopicPartition(topic, partition)] = offset
        await self._record_lag()
        log.info(
            "batch_indexed",
            records=len(records),
            indexed=len(result.indexed),
            dead_lettered=len(result.dead_letters),
            stale=len(result.stale),
        )
        if self._on_indexed is not None and result.indexed:
            await self._on_indexed(result.indexed, result.vectors)
        return len(records)

    async def _retrying(self, step: str, attempt: Callable[[], Awaitable[T]], stop: asyncio.Event) -> T:
        """Run `attempt` until it succeeds, backing off on transient failures with fetching paused."""
        delay = self._settings.retry_initial_s
        failures = 0
        try:
            while True:
                try:
                    value = await attempt()
                    self.breaker.success()
                    return value
                except (TransientError, KafkaError, TimeoutError, ConnectionError) as exc:
                    if not _is_transient(exc):
                        raise
                    failures += 1
                    self.breaker.failure()
                    BATCH_RETRIES.inc()
                    if failures == 1:
                        self._consumer.pause(*self._consumer.assignment())
                    log.warning("batch_retry", step=step, attempt=failures, delay_s=round(delay, 2), error=repr(exc))
                try:
                    async with asyncio.timeout(delay * random.uniform(0.5, 1.0)):  # jitter
                        await stop.wait()
                    raise _Stopped
                except TimeoutError:
                    delay = min(delay * 2, self._settings.retry_max_s)
        finally:
            if failures:
                self._consumer.resume(*self._consumer.assignment())

    async def _commit(self, result: BatchResult) -> None:
        offsets = {TopicPartition(t, p): offset for (t, p), offset in result.next_offsets.items()}
        try:
            await self._committer.commit(result.dead_letters, offsets)
        except CommitFailedError as exc:
            # The group moved on (rebalance): the new owner re-reads these records and overwrites the
            # same points. Nothing is lost; the repeated work is idempotent. aiokafka 0.14's
            # transactional commit sends no group generation, so today it does not raise this (a
            # zombie's commit is accepted): the store's conditional write is what keeps it harmless.
            COMMIT_FAILURES.inc()
            log.warning("commit_failed", error=str(exc))

    def _count(self, result: BatchResult) -> None:
        self.batches_total += 1
        self.indexed_total += len(result.indexed)
        self.dead_lettered_total += len(result.dead_letters)
        for document in result.indexed:
            EVENTS_INDEXED.labels(document.action).inc()
        if result.indexed:
            LAST_INDEXED.set_to_current_time()
        for letter in result.dead_letters:
            EVENTS_DEAD_LETTERED.labels(letter.reason.value).inc()
        STALE_WRITES_REJECTED.inc(len(result.stale))

    async def _watch_lag(self) -> None:
        """Every `LAG_INTERVAL_S`: lag = the partition's end (asked of the broker) minus what is
        committed. Runs beside the batches, so an outage or a retried batch shows as growing lag;
        while the broker itself is down the gauge keeps its last value and
        `consumer_seconds_since_last_batch` grows."""
        while True:
            await asyncio.sleep(self._settings.lag_interval_s)
            assigned = list(self._consumer.assignment())
            if not assigned:
                continue
            try:
                async with asyncio.timeout(self._settings.kafka_request_timeout_s):
                    ends = await self._consumer.end_offsets(assigned)
                    for tp in assigned:
                        done = self._done.get(tp)
                        if done is None:
                            done = await self._consumer.committed(tp)
                        if done is None:
                            done = (await self._consumer.beginning_offsets([tp]))[tp]
                        CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, ends[tp] - done))
            except (KafkaError, TimeoutError, OSError) as exc:
                log.debug("lag_unknown", error=repr(exc))

    async def _record_lag(self) -> None:
        """Lag per assigned partition: the partition's end (as of the last fetch) minus our position."""
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                position = await self._consumer.position(tp)  # known locally after a fetch: no request
                CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - position))


async def ensure_topics(settings: ConsumerSettings) -> None:
    """Create the event topics, the DLQ and the notices topic if they do not exist, with the configured
    replication and retention (`ConsumerSettings.topic_configs`); existing topics are left as they are."""
    admin = AIOKafkaAdminClient(
        **settings.client_options(),
        request_timeout_ms=int(settings.kafka_request_timeout_s * 1000),
    )
    async with asyncio.timeout(settings.kafka_request_timeout_s * 3):
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [*settings.topics, settings.kafka_dlq_topic, settings.kafka_indexed_topic]
            missing = [
                NewTopic(t, settings.kafka_topic_partitions, settings.kafka_topic_replication,
                         topic_configs=settings.topic_configs(t))
                for t in wanted
                if t not in existing
            ]  # fmt: skip
            if missing:
                try:
                    await admin.create_topics(missing)
                    log.info("topics_created", topics=[t.name for t in missing])
                except TopicAlreadyExistsError:
                    pass  # another instance created them first
        finally:
            await admin.close()


def transactional_id(settings: ConsumerSettings) -> str:
    """Stable per instance, so a restart fences the previous incarnation's open transaction."""
    return settings.kafka_transactional_id or f"{settings.kafka_group_id}.{socket.gethostname()}"


@asynccontextmanager
async def kafka_clients(
    settings: ConsumerSettings,
) -> AsyncIterator[tuple[AIOKafkaConsumer, TransactionalCommitter]]:
    """A started group consumer (manual commit) and the committer with its transactional producer."""
    if settings.kafka_create_topics:
        await ensure_topics(settings)
    timeout_ms = max(int(settings.kafka_request_timeout_s * 1000), 5000)
    consumer = AIOKafkaConsumer(
        **settings.client_options(),
        group_id=settings.kafka_group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=settings.consumer_max_batch,
        metadata_max_age_ms=30_000,
        request_timeout_ms=timeout_ms,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=max(1000, settings.kafka_session_timeout_ms // 4),
        fetch_max_bytes=max(52428800, settings.max_message_bytes * 2),
        max_partition_fetch_bytes=max(1048576, settings.max_message_bytes * 2),
    )

    def make_producer() -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **settings.client_options(),
            transactional_id=transactional_id(settings),
            transaction_timeout_ms=60_000,
            request_timeout_ms=timeout_ms,
            max_request_size=max(1048576, settings.max_message_bytes * 2),
        )

    committer = TransactionalCommitter(
        make_producer,
        consumer.committed,
        settings.kafka_dlq_topic,
        settings.kafka_group_id,
        settings.kafka_request_timeout_s,
    )
    await committer.start()
    try:
        async with asyncio.timeout(settings.kafka_request_timeout_s * 3):
            await consumer.start()
        try:
            yield consumer, committer
        finally:
            await consumer.stop()
    finally:
        await committer.stop()


@asynccontextmanager
async def ingest_loop(
    settings: ConsumerSettings,
    embedder: Embedder,
    store: KnowledgeStore,
    on_indexed: IndexedCallback | None = None,
    breaker: CircuitBreaker | None = None,
) -> AsyncIterator[IngestLoop]:
    """A subscribed IngestLoop with its Kafka clients, closed on exit."""
    async with kafka_clients(settings) as (consumer, committer):
        pipeline = Pipeline(embedder, store, settings.max_message_bytes)
        loop = IngestLoop(consumer, pipeline, committer, settings, breaker, on_indexed)
        loop.subscribe()
        yield loop

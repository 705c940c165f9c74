"""No dead letter lost or doubled: the committer on the real broker, when a transaction's outcome is
unknown. A real broker cannot be made to stall a commit on demand, so `StallingProducer` (a real
producer behind a delay, the only fake here) holds the commit past the committer's timeout, either
before the broker has it (the transaction is left open) or after it committed (the answer is lost)."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from consumers.committer import CommitOutcomeUnknown, TransactionalCommitter
from consumers.settings import ConsumerSettings
from schemas.dead_letter import HEADER_SOURCE_OFFSET, DeadLetter, DeadLetterReason
from tests.conftest import ROOT, wait_until
from tests.process import fresh_topics


class StallingProducer:
    """A real transactional producer whose commit stalls `stall_s`, `when` "before" or "after" it."""

    def __init__(self, inner: AIOKafkaProducer, when: str, stall_s: float) -> None:
        self.inner = inner
        self.when = when
        self.stall_s = stall_s

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        return await self.inner.send(*args, **kwargs)

    async def send_offsets_to_transaction(self, offsets: Any, group_id: str) -> None:
        await self.inner.send_offsets_to_transaction(offsets, group_id)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        await self.inner.begin_transaction()
        try:
            yield
        except BaseException:
            await self.inner.abort_transaction()
            raise
        if self.when == "before":
            await asyncio.sleep(self.stall_s)
        await self.inner.commit_transaction()
        if self.when == "after":
            await asyncio.sleep(self.stall_s)


def letters(topic: str, count: int) -> list[DeadLetter]:
    return [
        DeadLetter(reason=DeadLetterReason.INVALID_JSON, detail="x", source_topic=topic, source_partition=0,
                   source_offset=i, source_timestamp_ms=None, key=b"k", value=f"bad {i}".encode())
        for i in range(count)
    ]  # fmt: skip


@asynccontextmanager
async def committer_for(
    bootstrap: str, settings: ConsumerSettings, make_producer: Any, timeout_s: float
) -> AsyncIterator[tuple[TransactionalCommitter, AIOKafkaConsumer]]:
    """A started committer over `make_producer`'s producers, and a consumer of its group (for the
    committed offsets), both stopped on exit."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=settings.kafka_group_id)
    await consumer.start()
    committer = TransactionalCommitter(
        make_producer, consumer.committed, settings.kafka_dlq_topic, settings.kafka_group_id, timeout_s=timeout_s
    )
    try:
        await committer.start()
        yield committer, consumer
    finally:
        await committer.stop()
        await consumer.stop()


async def until_committed(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
    """Transactional offsets show once the commit markers are written."""

    async def committed() -> bool:
        return await consumer.committed(tp) == offset

    await wait_until(committed, 30, "the offsets to be committed")


async def dead_lettered_offsets(bootstrap: str, topic: str) -> list[int]:
    """The source offsets of the DLQ's committed letters, sorted."""
    return sorted(int(dict(r.headers)[HEADER_SOURCE_OFFSET]) for r in await read_to_end(bootstrap, topic))


@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_commit_whose_outcome_is_unknown_loses_and_doubles_no_letter(kafka_bootstrap: str, when: str) -> None:
    settings = await fresh_topics(kafka_bootstrap)
    tx_id = f"tx-{uuid.uuid4().hex[:8]}"
    made: list[Any] = []

    def make_producer() -> Any:
        real = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id=tx_id)
        producer = StallingProducer(real, when, stall_s=3.0) if not made else real
        made.append(producer)
        return producer

    tp = TopicPartition(settings.topics[0], 0)
    batch = letters(settings.topics[0], 5)
    async with committer_for(kafka_bootstrap, settings, make_producer, 1.0) as (committer, consumer):
        with pytest.raises(CommitOutcomeUnknown):
            await committer.commit(batch, {tp: 5})
        await committer.commit(batch, {tp: 5})  # the loop's retry of the same batch
        assert committer.rebuilds == 1
        await until_committed(consumer, tp, 5)
    offsets = await dead_lettered_offsets(kafka_bootstrap, settings.kafka_dlq_topic)
    assert offsets == [0, 1, 2, 3, 4], f"each letter exactly once ({when} the commit)"


async def read_to_end(bootstrap: str, topic: str) -> list[Any]:
    """Every committed record of `topic` (one partition), read up to its last stable offset."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    await consumer.start()
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    records: list[Any] = []
    try:
        end = (await consumer.end_offsets([tp]))[tp]
        async with asyncio.timeout(20):
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=200)
                records.extend(batch.get(tp, []))
    finally:
        await consumer.stop()
    return records


class FreezingProducer(AIOKafkaProducer):  # type: ignore[misc]
    """A real producer that, on its first commit, freezes the real broker (SIGSTOP) for `freeze_s`:
    the commit hangs inside aiokafka's own state machine, as when a broker stops answering mid-commit."""

    def __init__(self, broker_pid: int, freeze_s: float, **config: Any) -> None:
        super().__init__(**config)
        self._broker_pid = broker_pid
        self._freeze_s = freeze_s

    async def commit_transaction(self) -> None:
        if self._freeze_s:
            os.kill(self._broker_pid, signal.SIGSTOP)
            asyncio.get_running_loop().call_later(self._freeze_s, os.kill, self._broker_pid, signal.SIGCONT)
            self._freeze_s = 0
        await super().commit_transaction()


async def test_a_broker_that_stops_answering_mid_commit_is_survived(private_broker: Any) -> None:
    """Before: the commit's timeout left aiokafka's producer in COMMITTING_TRANSACTION, and the retry's
    begin_transaction raised AssertionError ("Invalid state transition"), which stopped the consumer
    for good: the cause of the broker-restart test's intermittent time-out."""
    bootstrap, _ = private_broker
    settings = await fresh_topics(bootstrap)
    pid = int((ROOT / ".cache" / "kafka" / f"broker-{bootstrap.rsplit(':', 1)[1]}.pid").read_text())
    tx_id = f"tx-{uuid.uuid4().hex[:8]}"
    made: list[AIOKafkaProducer] = []

    def make_producer() -> AIOKafkaProducer:
        producer = FreezingProducer(pid, 0 if made else 4.0, bootstrap_servers=bootstrap, transactional_id=tx_id,
                                    request_timeout_ms=3000)  # fmt: skip
        made.append(producer)
        return producer

    tp = TopicPartition(settings.topics[0], 0)
    batch = letters(settings.topics[0], 3)
    try:
        async with committer_for(bootstrap, settings, make_producer, 2.0) as (committer, consumer):
            with pytest.raises(CommitOutcomeUnknown):
                await committer.commit(batch, {tp: 3})
            for _ in range(30):  # the loop's retries, with its backoff, until the broker answers again
                try:
                    await committer.commit(batch, {tp: 3})
                    break
                except (CommitOutcomeUnknown, KafkaError, TimeoutError):
                    await asyncio.sleep(0.5)
            else:
                pytest.fail("the committer never recovered")
            await until_committed(consumer, tp, 3)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert await dead_lettered_offsets(bootstrap, settings.kafka_dlq_topic) == [0, 1, 2], "each letter exactly once"

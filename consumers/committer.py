"""The end of a batch: its dead letters and its offsets, written in one Kafka transaction.

Both land or neither does, so the dead-letter topic holds each bad record exactly once (for readers
with `isolation_level=read_committed`) and an offset is never committed for a record that is neither
stored nor dead-lettered:

- every dead letter's delivery is confirmed by the broker before the offsets join the transaction;
- a letter the broker (or the producer) refuses as too large is sent again without its value (the
  reason, the source coordinates and a header saying so remain): the record can still be read at
  its source offset while the topic retains it, and nothing is committed without its letter;
- after any failure inside a transaction (a timeout included, whose outcome is unknown) the
  producer is rebuilt with the same transactional id, which fences the old one and settles its
  transaction; the group's committed offsets then say whether it committed. Nothing is guessed, so
  no letter is lost or written twice.

The transactional id is stable per instance: a restarted consumer fences its predecessor's
unfinished transaction at once instead of waiting for it to time out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import TopicPartition
from aiokafka.errors import MessageSizeTooLargeError

from knowledge.errors import TransientError
from schemas.dead_letter import DeadLetter

log = structlog.get_logger(__name__)

#: Makes a transactional producer (not started); the same transactional id every time.
ProducerFactory = Callable[[], Any]
#: The group's committed offset of a partition (asked of the broker), or None.
CommittedOffset = Callable[[TopicPartition], Awaitable[int | None]]


class CommitOutcomeUnknown(TransientError):
    """A transaction failed part way; the producer was rebuilt and the batch is committed again."""


class TransactionalCommitter:
    """Commits batches through a transactional producer that it owns (and rebuilds when needed)."""

    def __init__(
        self,
        make_producer: ProducerFactory,
        committed: CommittedOffset,
        dlq_topic: str,
        group_id: str,
        timeout_s: float,
    ) -> None:
        self._make_producer = make_producer
        self._committed = committed
        self._dlq_topic = dlq_topic
        self._group_id = group_id
        self._timeout_s = timeout_s
        self._producer: Any = None
        self._broken = False
        #: letters (by source topic, partition, offset) to send without their value: refused as too large
        self._omit_value: set[tuple[str, int, int]] = set()
        self.rebuilds = 0

    async def start(self) -> None:
        """Start the producer (its `init_transactions` fences an older incarnation)."""
        producer = self._make_producer()
        try:
            async with asyncio.timeout(self._timeout_s * 3):
                await producer.start()
        except BaseException:
            await _stop_quietly(producer, self._timeout_s)
            raise
        self._producer = producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await _stop_quietly(producer, self._timeout_s)

    async def commit(self, letters: Sequence[DeadLetter], offsets: Mapping[TopicPartition, int]) -> None:
        """Write `letters` to the DLQ and commit `offsets` for the group, atomically."""
        if (self._broken or self._producer is None) and await self._rebuild_and_check(offsets):
            return  # the transaction that failed had committed after all
        failed_at = datetime.now(UTC).isoformat()
        try:
            async with asyncio.timeout(self._timeout_s), self._producer.transaction():
                await self._send_letters(letters, failed_at)
                await self._producer.send_offsets_to_transaction(dict(offsets), self._group_id)
        except BaseException as exc:
            # The transaction's state is not known for sure (a timeout may strike during the commit):
            # fence this producer before anything else is sent.
            self._broken = True
            if isinstance(exc, TimeoutError):
                raise CommitOutcomeUnknown(f"the transaction did not finish within {self._timeout_s} s") from exc
            if isinstance(exc, MessageSizeTooLargeError):
                raise CommitOutcomeUnknown(
                    "a dead letter was refused as too large: it is sent without its value"
                ) from exc
            raise
        for letter in letters:
            log.warning(
                "event_dead_lettered",
                reason=letter.reason.value,
                detail=letter.detail[:300],
                topic=letter.source_topic,
                partition=letter.source_partition,
                offset=letter.source_offset,
                value_omitted=letter.source in self._omit_value,
            )
            self._omit_value.discard(letter.source)

    async def _send_letters(self, letters: Sequence[DeadLetter], failed_at: str) -> None:
        """Send each letter and wait until the broker confirmed every one (raise if any failed)."""
        deliveries: list[tuple[DeadLetter, asyncio.Future[Any]]] = []
        for letter in letters:
            key, value, headers = letter.record(failed_at, omit_value=letter.source in self._omit_value)
            try:
                deliveries.append(
                    (letter, await self._producer.send(self._dlq_topic, value=value, key=key, headers=headers))
                )
            except MessageSizeTooLargeError:  # over the producer's own max_request_size
                self._refused(letter)
                raise
        for letter, delivery in deliveries:
            try:
                await delivery
            except MessageSizeTooLargeError:  # over the broker's or the DLQ topic's limit
                self._refused(letter)
                raise

    def _refused(self, letter: DeadLetter) -> None:
        log.warning("dead_letter_too_large", topic=letter.source_topic, offset=letter.source_offset)
        self._omit_value.add(letter.source)

    async def _rebuild_and_check(self, offsets: Mapping[TopicPartition, int]) -> bool:
        """Replace the producer (fencing the old one, which settles its transaction); True when the
        group's offsets show that the last transaction committed after all."""
        await self.stop()
        await self.start()
        self._broken = False
        self.rebuilds += 1
        log.warning("transactional_producer_rebuilt", rebuilds=self.rebuilds)
        for tp, offset in offsets.items():
            async with asyncio.timeout(self._timeout_s):
                done = await self._committed(tp)
            if done is None or done < offset:
                return False
        return bool(offsets)


async def _stop_quietly(producer: Any, timeout_s: float) -> None:
    """Stop a producer that may be wedged mid-transaction; it is being replaced, so errors do not matter."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(timeout_s):
            await producer.stop()

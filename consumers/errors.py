"""Errors of the consumer, by what happens next.

    ConsumerError
    └── BadEvent           the record can never be indexed: DLQ with the reason, offset committed

Transient failures are `knowledge.errors.TransientError` (store) and aiokafka's retriable errors
(broker): the batch is retried with backoff, nothing is committed, nothing goes to the DLQ.
"""

from __future__ import annotations

from schemas.dead_letter import DeadLetterReason


class ConsumerError(Exception):
    """Base of this package's errors."""


class BadEvent(ConsumerError):
    """A record that cannot become a document, and why."""

    def __init__(self, reason: DeadLetterReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail

"""The dead-letter record: the original bytes, intact, and headers saying why and from where."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

HEADER_REASON = "x-dlq-reason"
HEADER_DETAIL = "x-dlq-detail"
HEADER_SOURCE_TOPIC = "x-dlq-source-topic"
HEADER_SOURCE_PARTITION = "x-dlq-source-partition"
HEADER_SOURCE_OFFSET = "x-dlq-source-offset"
HEADER_SOURCE_TIMESTAMP = "x-dlq-source-timestamp-ms"
HEADER_FAILED_AT = "x-dlq-failed-at"

MAX_DETAIL_CHARS = 2000


class DeadLetterReason(StrEnum):
    """Why a record cannot become a document. Each is final: retrying the same bytes fails the same way."""

    INVALID_JSON = "invalid_json"
    INVALID_UTF8 = "invalid_utf8"
    SCHEMA_VIOLATION = "schema_violation"
    TOO_LARGE = "too_large"
    EMPTY = "empty"


class DeadLetter(BaseModel):
    """What the consumer knows about a bad record; written as Kafka headers on the DLQ record."""

    model_config = ConfigDict(frozen=True)

    reason: DeadLetterReason
    detail: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_timestamp_ms: int | None
    key: bytes | None
    value: bytes | None

    def headers(self, failed_at: str) -> list[tuple[str, bytes]]:
        """Kafka headers of the DLQ record."""
        pairs = [
            (HEADER_REASON, self.reason.value),
            (HEADER_DETAIL, self.detail[:MAX_DETAIL_CHARS]),
            (HEADER_SOURCE_TOPIC, self.source_topic),
            (HEADER_SOURCE_PARTITION, str(self.source_partition)),
            (HEADER_SOURCE_OFFSET, str(self.source_offset)),
            (HEADER_FAILED_AT, failed_at),
        ]
        if self.source_timestamp_ms is not None:
            pairs.append((HEADER_SOURCE_TIMESTAMP, str(self.source_timestamp_ms)))
        return [(name, value.encode("utf-8")) for name, value in pairs]

"""The dead-letter record: the original bytes, intact, and headers saying why and from where."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

HEADER_REASON = "x-dlq-reason"
HEADER_DETAIL = "x-dlq-detail"
HEADER_SOURCE_TOPIC = "x-dlq-source-topic"
HEADER_SOURCE_PARTITION = "x-dlq-source-partition"
HEADER_SOURCE_OFFSET = "x-dlq-source-offset"
HEADER_SOURCE_TIMESTAMP = "x-dlq-source-timestamp-ms"
HEADER_FAILED_AT = "x-dlq-failed-at"
#: Set when the DLQ record does not carry the original value: `null` (the record had a null key and a
#: null value, which Kafka cannot write back) or `omitted: N bytes` (refused as too large by the DLQ).
HEADER_VALUE = "x-dlq-value"

MAX_DETAIL_CHARS = 2000


class DeadLetterReason(StrEnum):
    """Why a record cannot become a document. Each is final: retrying the same bytes fails the same way."""

    INVALID_JSON = "invalid_json"
    STORE_REJECTED = "store_rejected"
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

    @property
    def source(self) -> tuple[str, int, int]:
        """Where the record was read: topic, partition, offset."""
        return self.source_topic, self.source_partition, self.source_offset

    def record(self, failed_at: str, *, omit_value: bool = False) -> tuple[bytes | None, bytes | None, list[Any]]:
        """Key, value and headers of the DLQ record: the original key and value, unless the value was
        refused as too large (`omit_value`) or Kafka cannot write them (both null): then an empty value
        and `x-dlq-value` saying what the original was."""
        headers = self.headers(failed_at)
        value = self.value
        if omit_value and value:
            headers.append((HEADER_VALUE, f"omitted: {len(value)} bytes".encode()))
            value = b""
        if value is None and self.key is None:
            headers.append((HEADER_VALUE, b"null"))
            value = b""
        return self.key, value, headers

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

"""Which of two versions of a document is newer: stale writes are rejected, never stored over newer ones.

A document's version is its `occurred_at`, then (between records of the same partition) its Kafka
offset. A redelivery of the same record has the same version and overwrites in place (so a replay with
a newer projector can rewrite history); an older version of a stored event is refused.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from schemas.documents import DocumentBase


class Version(NamedTuple):
    occurred_at_ts: float
    topic: str | None
    partition: int | None
    offset: int | None


def version_of(document: DocumentBase) -> Version:
    source = document.source
    if source is None:
        return Version(document.occurred_at_ts, None, None, None)
    return Version(document.occurred_at_ts, source.topic, source.partition, source.offset)


def stored_version(payload: dict[str, Any]) -> Version | None:
    """The version of a stored point's payload, or None when it has none (written by something else)."""
    ts = payload.get("occurred_at_ts")
    if not isinstance(ts, int | float):
        return None
    source = payload.get("source") or {}
    return Version(float(ts), source.get("topic"), source.get("partition"), source.get("offset"))


def is_older(candidate: Version, other: Version) -> bool:
    """True when `candidate` is strictly older than `other`."""
    if candidate.occurred_at_ts != other.occurred_at_ts:
        return candidate.occurred_at_ts < other.occurred_at_ts
    same_partition = (candidate.topic, candidate.partition) == (other.topic, other.partition)
    if not same_partition or candidate.offset is None or other.offset is None:
        return False
    return candidate.offset < other.offset

"""Prometheus metrics of the consumer and the API, defined once (docs/OPERATIONS.md says what each means).

They live in prometheus_client's default registry: the API serves them at `/metrics`, a consumer in
its own process on `METRICS_PORT`.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_FRESHNESS_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)

EVENTS_CONSUMED = Counter("events_consumed_total", "Kafka records read by the consumer.", ["topic"])
EVENTS_INDEXED = Counter("events_indexed_total", "Events stored as documents (searchable).", ["action"])
LAST_INDEXED = Gauge(
    "events_last_indexed_timestamp_seconds", "When this process last stored a batch of documents (Unix time)."
)
EVENTS_DEAD_LETTERED = Counter("events_dead_lettered_total", "Records sent to the dead-letter topic.", ["reason"])
BATCH_SIZE = Histogram(
    "batch_size_records", "Records per consumer batch.", buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000)
)
EMBED_SECONDS = Histogram("embed_seconds", "Time to embed one batch of texts.", buckets=_LATENCY_BUCKETS)
UPSERT_SECONDS = Histogram("upsert_seconds", "Time to upsert one batch of points.", buckets=_LATENCY_BUCKETS)
INGEST_TO_SEARCHABLE = Histogram(
    "ingest_to_searchable_seconds",
    "From the Kafka record timestamp to the moment its document is stored and searchable.",
    buckets=_FRESHNESS_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "consumer_lag", "Records behind the end of the partition after the last batch.", ["topic", "partition"]
)
COMMIT_FAILURES = Counter("commit_failures_total", "Offset commits that failed (the records are redelivered).")
BATCH_RETRIES = Counter("batch_retries_total", "Batches retried after a transient store or broker failure.")
STALE_WRITES_REJECTED = Counter(
    "stale_writes_rejected_total", "Documents not stored because a newer version of the event is stored."
)
SEARCH_SECONDS = Histogram(
    "search_seconds", "Search latency, query embedding included.", ["endpoint", "mode"], buckets=_LATENCY_BUCKETS
)
CIRCUIT_BREAKER_OPEN = Gauge("circuit_breaker_open", "1 while the store circuit breaker is open, else 0.")
QUERIES_WAITING = Gauge("queries_waiting", "Search queries waiting to be embedded (bounded by EMBED_QUERY_QUEUE).")
QUERIES_REFUSED = Counter(
    "queries_refused_total", "Search queries refused with 503: the queue was full or the deadline passed.", ["why"]
)
STORE_OPTIMIZATIONS = Counter(
    "store_optimizations_total",
    "Background optimizations of the embedded store: switched to the optimized copy, or failed.",
    ["outcome"],
)
STORE_OPTIMIZE_SECONDS = Gauge(
    "store_last_optimize_seconds", "How long the last background optimization took, copy to switch."
)
STORE_COPY_PAUSE_SECONDS = Gauge(
    "store_last_copy_pause_seconds",
    "How long writes waited on the last background optimization's copy (its second pass, on the writer thread).",
)
LIVE_SUBSCRIPTIONS = Gauge("live_subscriptions", "Open live subscriptions (WebSocket and SSE).")
UNREADABLE_POINTS = Counter(
    "unreadable_points_total", "Stored points left out of an answer because their payload cannot be decoded."
)
CONSUMER_LAST_BATCH_AGE = Gauge(
    "consumer_seconds_since_last_batch", "Seconds since the consumer last stored and committed a batch."
)
AUTH_DECISIONS = Counter(
    "auth_decisions_total",
    "API requests refused or allowed by key: outcome 401 (no or bad key), 403 (scope), 429 (rate), allowed (writes).",
    ["key", "outcome"],
)
BRIDGE_ROWS_PUBLISHED = Counter("bridge_rows_published_total", "Rows of the game's database published.", ["table"])
BRIDGE_ROWS_UNPUBLISHABLE = Counter(
    "bridge_rows_unpublishable_total", "Rows too large for a Kafka record (logged with their id).", ["table"]
)
BRIDGE_LAST_ID = Gauge("bridge_last_published_id", "The last published row id.", ["table"])
BRIDGE_LAG = Gauge("bridge_lag_rows", "Rows in the game's database not yet published.", ["table"])

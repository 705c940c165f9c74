"""A circuit breaker on the store: after repeated transient failures it opens, readiness reports it,
and the consumer pauses fetching until a retry succeeds and closes it again."""

from __future__ import annotations

import structlog

from knowledge.metrics import CIRCUIT_BREAKER_OPEN

log = structlog.get_logger(__name__)


class CircuitBreaker:
    """Counts consecutive failures; open from `threshold` failures until the next success."""

    def __init__(self, threshold: int = 3) -> None:
        self._threshold = threshold
        self._failures = 0

    @property
    def is_open(self) -> bool:
        return self._failures >= self._threshold

    def failure(self) -> None:
        """One more consecutive failure; opens the breaker at the threshold."""
        self._failures += 1
        if self._failures == self._threshold:
            CIRCUIT_BREAKER_OPEN.set(1)
            log.error("circuit_opened", failures=self._failures)

    def success(self) -> None:
        """Close the breaker."""
        if self.is_open:
            log.info("circuit_closed", failures=self._failures)
        self._failures = 0
        CIRCUIT_BREAKER_OPEN.set(0)

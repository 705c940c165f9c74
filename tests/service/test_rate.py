"""The request rate per key (service/rate.py), on a clock the test moves; over a real socket it is
tested in test_security.py."""

from __future__ import annotations

import threading

import pytest
from pydantic import ValidationError

from service.rate import RateLimiter
from service.settings import SecuritySettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_allowance_at_once_then_one_request_per_share_of_the_period() -> None:
    clock = Clock()
    limiter = RateLimiter("6/minute", clock=clock)
    assert [limiter.hit("a") for _ in range(6)] == [None] * 6
    assert limiter.hit("a") == 10, "the next share of the minute comes in 10 s"
    assert limiter.hit("b") is None, "each key has its own allowance"
    clock.now += 9.5
    assert limiter.hit("a") == 1, "never less than 1 s to wait"
    clock.now += 0.5
    assert limiter.hit("a") is None and limiter.hit("a") == 10
    clock.now += 60
    assert [limiter.hit("a") for _ in range(7)] == [None] * 6 + [10], "idle a period: the allowance is full again"


def test_refused_requests_are_not_counted_and_idle_keys_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter("2/second", max_keys=3, clock=clock)
    for _ in range(50):
        limiter.hit("busy")
    clock.now += 1
    assert limiter.hit("busy") is None, "the refused ones did not push the allowance further away"
    for key in ("k1", "k2", "k3", "k4"):
        limiter.hit(key)
    assert len(limiter._arrival) <= 3, "at most max_keys are kept"
    clock.now += 5
    limiter.hit("k5")
    assert list(limiter._arrival) == ["k5"], "keys idle beyond their arrival time are dropped"


def test_no_thread_is_started_per_request() -> None:
    limiter = RateLimiter("1000000/minute")
    before = threading.active_count()
    for n in range(200):
        limiter.hit(f"addr:{n % 7}")
    assert threading.active_count() == before


@pytest.mark.parametrize("rate", ["0/minute", "often", "-5/second", ""])
def test_a_rate_that_allows_nothing_or_does_not_read_is_refused_at_start_with_the_reason(rate: str) -> None:
    with pytest.raises(ValidationError, match="rate_limit"):
        SecuritySettings(rate_limit=rate)
    with pytest.raises(ValueError, match=r"not a rate|allows no request"):
        RateLimiter(rate)

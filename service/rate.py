"""A request rate per key, kept in this process: the generic cell rate algorithm (GCRA).

`RATE_LIMIT` ("1200/minute", any form the `limits` library parses) allows that many requests per
period, all at once or spread out: each request moves the key's "theoretical arrival time" on by one
period ÷ amount, and a request is refused while that time is more than a period ahead of now. One
float per key; no thread and no task (the `limits` library's memory storage starts a timer thread
every 10 ms while requests come, which a single search client measured as 0.5 ms of the event loop per
request). Keys are forgotten once idle for a period, and at most `max_keys` are kept (the least
recently seen are dropped first: a dropped key starts again with a full allowance).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from limits import RateLimitItem, parse


def parse_rate(rate: str) -> RateLimitItem:
    """`rate` as an amount per period; ValueError unless it reads like `1200/minute` and allows a request."""
    try:
        item = parse(rate)
    except ValueError:
        raise ValueError(f"{rate!r} is not a rate: write it like '1200/minute' or '10 per second'") from None
    if item.amount < 1:
        raise ValueError(f"{rate!r} allows no request at all")
    return item


class RateLimiter:
    """`hit(key)`: None when the request is allowed (and counted), else the seconds to wait."""

    def __init__(self, rate: str, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        item = parse_rate(rate)
        self._period = float(item.get_expiry())
        self._interval = self._period / item.amount
        self._max_keys = max_keys
        self._clock = clock
        self._arrival: OrderedDict[str, float] = OrderedDict()  # key -> theoretical arrival time

    def hit(self, key: str) -> int | None:
        now = self._clock()
        self._forget_idle(now)
        arrival = max(self._arrival.get(key, now), now)
        ahead = arrival + self._interval - now
        if ahead > self._period + 1e-9:
            return max(1, math.ceil(ahead - self._period))
        self._arrival[key] = arrival + self._interval
        self._arrival.move_to_end(key)
        while len(self._arrival) > self._max_keys:
            self._arrival.popitem(last=False)
        return None

    def _forget_idle(self, now: float) -> None:
        """Keys whose arrival time has passed have their full allowance again: nothing to keep. The
        dict is in order of last use, so the longest idle are at the front."""
        while self._arrival:
            key, arrival = next(iter(self._arrival.items()))
            if arrival > now:
                break
            del self._arrival[key]

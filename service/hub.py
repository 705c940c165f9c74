"""Live subscriptions: standing queries that newly indexed events are matched against.

A subscriber registers a query (embedded once), filters and a minimum score. Every batch the
consumer indexes is offered to the hub with its vectors; each matching event is put on the
subscriber's own bounded queue, so a slow client never slows ingest or other clients. When a queue is
full, the oldest waiting event is dropped and the drop is counted; the client is told how many it
missed with its next message.

Matching costs one matrix product per batch (every new document against every standing query), and
each matching document is serialised once, however many subscribers it reaches: a subscriber's
message is those bytes with its own score put in front, and a burst of messages is one join of shared
pieces (one copy of each document per write, not one per string built on the way). A subscription
takes a batch's matches in one step (numpy picks them, its queue is a deque), so the consumer, whose
next batch waits on this, spends microseconds per subscriber, not per match (bench/load.py measures it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import structlog

from knowledge.metrics import LIVE_SUBSCRIPTIONS
from knowledge.store.base import Condition, conditions, holds
from schemas.documents import DocumentBase
from schemas.search import SearchFilters

QUEUE_SIZE = 256
#: How far from 1 a vector's length may be (the model's vectors are unit length to float32 precision).
UNIT_TOLERANCE = 1e-3

log = structlog.get_logger(__name__)


class HubClosed(Exception):
    """No new subscription: the service is shutting down."""


class TooManySubscriptions(Exception):
    """No new subscription: the caller (or the whole process) holds as many as it may."""


def _usable(vectors: Sequence[Sequence[float]], dim: int) -> tuple[list[int], np.ndarray[Any, Any]]:
    """The indexes of the vectors that can be scored against queries of `dim` dimensions (that length,
    unit length as the model makes them, so every score is a cosine in [-1, 1]: a NaN, an infinity or a
    huge number in a notice would otherwise put a score JSON cannot carry in front of every
    subscriber), and those vectors as one matrix: a length check per vector, the rest in numpy."""
    sized = [i for i, vector in enumerate(vectors) if len(vector) == dim]
    with np.errstate(over="ignore", invalid="ignore"):  # (an overflow is caught below, as a non-unit norm)
        matrix = np.asarray([vectors[i] for i in sized], dtype=np.float32).reshape(len(sized), dim)
        norms = np.linalg.norm(matrix.astype(np.float64), axis=1)
    unit = np.asarray(np.abs(norms - 1.0) <= UNIT_TOLERANCE, dtype=bool)  # NaN compares false
    flags: list[bool] = unit.tolist()
    return [i for i, ok in zip(sized, flags, strict=True) if ok], matrix[unit]


@dataclass
class Subscription:
    """One standing query and its matches waiting to be sent."""

    id: int
    query: str
    vector: np.ndarray[Any, Any]
    filters: SearchFilters
    min_score: float
    owner: str = "anonymous"
    #: (score, the document's JSON after its opening brace, as ASCII bytes), as `_rendered` renders
    #: it; the oldest are dropped beyond QUEUE_SIZE
    waiting: deque[tuple[float, bytes]] = field(default_factory=lambda: deque(maxlen=QUEUE_SIZE))
    dropped: int = 0
    closed: bool = False
    #: `filters` as the store's conditions, judged in memory for each new document
    wanted: list[Condition] = field(init=False)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def __post_init__(self) -> None:
        self.wanted = conditions(self.filters)

    def follow(self, document: DocumentBase) -> None:
        """A `player_id` subscription follows the threads the player takes part in as they open: a new
        code on an event naming the player joins the codes it matches (as search does, from the store)."""
        player, code = self.filters.player_id, document.expedition_code
        if player and code and player in document.player_ids and code not in self.filters.thread_codes():
            self.filters = self.filters.with_thread_codes((*self.filters.thread_codes(), code))
            self.wanted = conditions(self.filters)

    def offer(self, scores: Sequence[float], rendered: Sequence[bytes]) -> None:
        """Queue matches (their scores and rendered documents); beyond QUEUE_SIZE waiting, the oldest
        are dropped (and counted)."""
        if self.closed:
            return
        self.dropped += max(0, len(self.waiting) + len(scores) - QUEUE_SIZE)
        self.waiting.extend(zip(scores, rendered, strict=True))
        self._arrived.set()

    def close(self) -> None:
        """Tell the reader there will be nothing more (the service is shutting down)."""
        self.closed = True
        self._arrived.set()

    async def arrived(self) -> bool:
        """Wait until a match is waiting (True), or the subscription is closed and every match waiting
        was taken (False)."""
        while not self.waiting:
            if self.closed:
                return False
            self._arrived.clear()
            await self._arrived.wait()
        return True

    async def next(self) -> str | None:
        """The next match as a JSON object (`type`, `score`, `dropped_before` when events were dropped
        since the last one, then the event's fields); None once closed and every match waiting was read."""
        return self._text() if await self.arrived() else None

    def ready(self, most: int) -> list[str]:
        """The matches already waiting (at most `most`), without waiting for more: a stream that fell
        behind sends them together."""
        return [self._text() for _ in range(min(most, len(self.waiting)))]

    def framed(self, most: int, before: bytes, after: bytes) -> bytes:
        """The matches already waiting (at most `most`) as one write: each message between `before` and
        `after` (an SSE frame's `data:` line and its blank line). Each document's bytes are copied once,
        into the result."""
        pieces: list[bytes] = []
        for _ in range(min(most, len(self.waiting))):
            pieces.append(before)
            pieces.extend(self._message(*self.waiting.popleft()))
            pieces.append(after)
        return b"".join(pieces)

    def _text(self) -> str:
        """The oldest waiting match as one message's text."""
        return b"".join(self._message(*self.waiting.popleft())).decode("ascii")

    def _message(self, score: float, rest: bytes) -> tuple[bytes, bytes]:
        """A message's pieces: its head (type, score, what was dropped before it) and the document."""
        if self.dropped:
            dropped, self.dropped = self.dropped, 0
            return b'{"type": "event", "score": %.4f, "dropped_before": %d, ' % (score, dropped), rest
        return b'{"type": "event", "score": %.4f, ' % score, rest


#: What a live message carries of a document.
_MESSAGE_FIELDS: Final = {"event_id", "category", "action", "occurred_at", "title", "content", "payload"}


def _rendered(document: DocumentBase, indexed_at: str) -> bytes:
    """A document as a live message's JSON after its opening brace (the score goes in front), in ASCII
    (non-ASCII characters escaped, as JSON allows)."""
    body = document.model_dump(mode="json", include=_MESSAGE_FIELDS)  # the fields as the store keeps them
    return json.dumps({**body, "indexed_at": indexed_at})[1:].encode("ascii")


class Hub:
    """The subscriptions of this API process."""

    def __init__(self, max_total: int = 1000, max_per_owner: int = 100) -> None:
        self._subscriptions: dict[int, Subscription] = {}
        self._none_left = asyncio.Event()
        self._none_left.set()
        self._ids = itertools.count(1)
        self.closed = False
        self._max_total = max_total
        self._max_per_owner = max_per_owner

    def close(self) -> None:
        """Shutting down: every subscription is told to end, and no new one is taken."""
        self.closed = True
        for subscription in list(self._subscriptions.values()):
            subscription.close()

    def subscribe(
        self, query: str, vector: list[float], filters: SearchFilters, min_score: float, owner: str = "anonymous"
    ) -> Subscription:
        if self.closed:
            raise HubClosed("the service is shutting down")
        if len(self._subscriptions) >= self._max_total:
            raise TooManySubscriptions(f"this service holds {self._max_total} live subscriptions, its limit")
        if sum(s.owner == owner for s in self._subscriptions.values()) >= self._max_per_owner:
            raise TooManySubscriptions(f"{owner!r} holds {self._max_per_owner} live subscriptions, its limit")
        vector_array = np.asarray(vector, dtype=np.float32)
        subscription = Subscription(next(self._ids), query, vector_array, filters, min_score, owner=owner)
        self._subscriptions[subscription.id] = subscription
        self._none_left.clear()
        LIVE_SUBSCRIPTIONS.set(len(self._subscriptions))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.pop(subscription.id, None)
        if not self._subscriptions:
            self._none_left.set()
        LIVE_SUBSCRIPTIONS.set(len(self._subscriptions))

    async def ended(self) -> None:
        """Return once no subscription is open (after `close`: once every stream said goodbye)."""
        await self._none_left.wait()

    def publish(self, documents: Sequence[DocumentBase], vectors: Sequence[Sequence[float]]) -> int:
        """Offer newly indexed documents to every subscription; returns the number of matches queued."""
        if not self._subscriptions or not documents:
            return 0
        dim = next(iter(self._subscriptions.values())).vector.shape[0]
        usable, matrix = _usable(vectors, dim)
        if len(usable) < len(documents):  # e.g. a notice from a consumer running another model
            log.warning("live_vectors_unusable", skipped=len(documents) - len(usable), dim=dim)
        if not usable:
            return 0
        documents = [documents[i] for i in usable]
        subscriptions = list(self._subscriptions.values())
        for subscription in subscriptions:
            if subscription.filters.player_id:  # threads are followed whatever the score
                for document in documents:
                    subscription.follow(document)
        queries = np.stack([s.vector for s in subscriptions])
        scores = matrix @ queries.T  # documents x subscriptions; unit vectors: cosines, as search scores
        taken = scores >= np.asarray([s.min_score for s in subscriptions], dtype=np.float32)
        for k, subscription in enumerate(subscriptions):  # filters are judged only where the score passed
            if subscription.wanted:
                for d in np.flatnonzero(taken[:, k]).tolist():
                    taken[d, k] = all(holds(c, documents[d]) for c in subscription.wanted)
        needed: list[int] = np.flatnonzero(taken.any(axis=1)).tolist()  # rendered once each, if anyone takes it
        indexed_at = datetime.now(UTC).isoformat()
        rendered: list[bytes] = [b""] * len(documents)
        for d in needed:
            rendered[d] = _rendered(documents[d], indexed_at)
        whole: list[bool] = taken.all(axis=0).tolist()
        for k in np.flatnonzero(taken.any(axis=0)).tolist():
            if whole[k]:  # the whole batch (a broad subscription): its scores and the shared list as they are
                subscriptions[k].offer(scores[:, k].tolist(), rendered)
            else:
                hits: list[int] = np.flatnonzero(taken[:, k]).tolist()
                subscriptions[k].offer(scores[hits, k].tolist(), [rendered[d] for d in hits])
        return int(taken.sum())

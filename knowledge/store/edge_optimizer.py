"""Keeping the embedded store indexed while it serves.

Qdrant Edge runs no optimizer of its own ("optimizations are manual"), so a shard that grows by
upserts stays one unindexed segment, searched by brute force; and its `optimize()` holds the GIL for
its whole run (about 90 s per 100k points on 2 cores), so it cannot run in a serving process. Instead,
once it is due (`optimize_due`: as many points written since the shard was last optimized as it held
then, from 2,000 up to at most `EDGE_OPTIMIZE_AFTER`):

1. **copy**: the shard's directory is copied while writes go on (350 MB for 100k points), then, on the
   store's writer thread, the shard is flushed and the copy made equal to it, rewriting only what changed
   meanwhile (`knowledge/store/mirror.py`); from then on the store notes the id of every point written
   or deleted;
2. **optimize**: a separate process (`python -m knowledge.store.optimize --shard COPY`, at a lower CPU
   priority) gives the copy's payload indexes their place (`qdrant_edge.PINNED_INDEXES`) and optimizes
   it, while this one goes on serving and writing the shard;
3. **catch up**: the optimized copy is opened here (0.6 s at 100k points, holding the GIL), and the
   points noted since the copy are copied into it from the shard as they are now, in small batches,
   until few are left;
4. **switch**: on the writer thread (no write comes between) the last noted points are copied, the copy
   is flushed, the alias file names it (the next process opens it), and the store serves from it; the
   shard served before is closed once the reads in flight are done, and deleted.

A failure or a stop at any step leaves the shard served, complete, and the copy is deleted (a left-over
copy is deleted when the store is next opened). Only entry points start `keep_optimized`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any, Final

import qdrant_edge as edge
import structlog

from knowledge.metrics import STORE_COPY_PAUSE_SECONDS, STORE_OPTIMIZATIONS, STORE_OPTIMIZE_SECONDS
from knowledge.processes import run_module
from knowledge.settings import KnowledgeSettings
from knowledge.store.base import KnowledgeStore
from knowledge.store.qdrant_edge import QdrantEdgeStore

log = structlog.get_logger(__name__)

#: Below this many points a shard is searched by brute force in a fraction of a millisecond: the first
#: optimization waits for them.
FIRST_OPTIMIZE_AT: Final = 2_000
#: Catch-up rounds stop when fewer ids than this were noted in one; the switch copies the rest.
SWITCH_WHEN_FEWER: Final = 512
#: Catch-up rounds at most, before switching anyway (ingest faster than the catch-up).
MAX_ROUNDS: Final = 20
#: After failures, the next attempt waits twice as long each time, up to this.
MAX_RETRY_WAIT_S: Final = 3600.0
#: The optimizing process gets this much time at most.
OPTIMIZE_TIMEOUT_S: Final = 3600.0


def optimize_due(written: int, points_when_optimized: int, most: int) -> bool:
    """Whether a shard is due to be optimized: once as many points were written since it last was as it
    held then (so the part searched by brute force stays at most as big as the indexed part, and a small
    store is indexed early: at 2,000 points, 4,000, 8,000, ...), never fewer than `FIRST_OPTIMIZE_AT` and
    never more than `most` (`EDGE_OPTIMIZE_AFTER`; 0: never). Building the index costs about as much
    in all as every 20,000 points did (to 100k: 278k points optimized against 300k), and a season of
    the game (17,500 events) is searched through an index instead of by brute force."""
    return most > 0 and written >= min(most, max(FIRST_OPTIMIZE_AT, points_when_optimized))


async def keep_optimized(store: KnowledgeStore, settings: KnowledgeSettings) -> None:
    """Until cancelled: every `EDGE_OPTIMIZE_CHECK_S`, optimize the embedded store in the background
    when it is due (`optimize_due`). A failed attempt is logged and counted, and tried again after
    twice the wait (up to an hour). Returns at once for a Qdrant server (it optimizes itself) or when
    `EDGE_OPTIMIZE_AFTER` is 0."""
    if not isinstance(store, QdrantEdgeStore) or settings.edge_optimize_after == 0:
        return
    wait_s = settings.edge_optimize_check_s
    while True:
        await asyncio.sleep(wait_s)
        if optimize_due(store.written_since_optimized, store.points_when_optimized, settings.edge_optimize_after):
            try:
                await optimize_in_background(store)
                wait_s = settings.edge_optimize_check_s
            except Exception as exc:  # Edge raises bare Exceptions; the shard served is intact either way
                STORE_OPTIMIZATIONS.labels(outcome="failed").inc()
                wait_s = min(wait_s * 2, MAX_RETRY_WAIT_S)  # e.g. a full disk: not a 350 MB copy every check
                log.error("store_optimize_failed", error=str(exc)[:300], next_try_s=wait_s)


async def optimize_in_background(store: QdrantEdgeStore) -> dict[str, Any]:
    """Copy, optimize in another process, catch up and switch (the module docstring); what was done."""
    started = time.monotonic()
    served = store.path
    copy_path = store.copy_path(int(time.time() * 1000))
    log.info("store_optimize_started", shard=served.name, copy=copy_path.name)
    copy: Any = None
    try:
        taken = await store.take_copy(copy_path)
        STORE_COPY_PAUSE_SECONDS.set(taken["paused_s"])
        steps = _Steps()
        await _optimize_in_process(copy_path)
        steps.done("optimize_s")
        copy = await asyncio.to_thread(edge.EdgeShard.load, str(copy_path))  # holds the GIL: the loop waits
        steps.done("open_s")
        rounds, caught_up = 0, 0
        while rounds < MAX_ROUNDS:
            copied = await store.catch_up(copy)
            rounds, caught_up = rounds + 1, caught_up + copied
            if copied < SWITCH_WHEN_FEWER:
                break
        steps.done("catch_up_s")
        switching = asyncio.ensure_future(store.switch_to(copy, copy_path))
        try:
            replaced = await asyncio.shield(switching)
        except asyncio.CancelledError:
            await switching  # short, and on the writer thread anyway: let it finish, then stop
            raise
        steps.done("switch_s")
    except BaseException:
        if store.path != copy_path:  # not switched: the copy is given up
            if copy is not None:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(copy.close)
            await store.drop_copy(copy_path)
        raise
    seconds = time.monotonic() - started
    STORE_OPTIMIZATIONS.labels(outcome="switched").inc()
    STORE_OPTIMIZE_SECONDS.set(seconds)
    log.info("store_optimized", shard=copy_path.name, replaced=served.name, seconds=round(seconds, 1),
             caught_up=caught_up, rounds=rounds, **taken, **steps.seconds)  # fmt: skip
    # the reads that took the replaced shard finish or time out (stopped before, the next open deletes it)
    await asyncio.sleep(store.timeout_s)
    await store.close_replaced(replaced, served)
    return {"shard": copy_path.name, "replaced": served.name, "seconds": seconds, "caught_up": caught_up, "copy": taken}


class _Steps:
    """How long each step took, for the log."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._since = time.monotonic()

    def done(self, step: str) -> None:
        now = time.monotonic()
        self.seconds[step], self._since = round(now - self._since, 3), now


async def _optimize_in_process(path: Path) -> None:
    """`python -m knowledge.store.optimize --shard PATH`, killed if this is cancelled or it overruns."""
    done = await run_module("knowledge.store.optimize", "--shard", str(path), timeout_s=OPTIMIZE_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"optimizing {path.name} exited {done.returncode}: {done.stderr[-300:]}")

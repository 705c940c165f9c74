"""The bridge's loop: read a page of rows, publish them, wait for the brokers' acknowledgement, then
move the checkpoint; when every table is read to its end, poll again every `BRIDGE_POLL_S`.

Polling, not a trigger or a file watch: the game's database has no change feed, a reader may not write
to it (no triggers), and file-change events are not reliable across the filesystems a game runs on.
A `SELECT … WHERE id > ?` on the primary key costs microseconds, so a 0.25 s poll publishes a new row
well within a second of its commit and costs the game nothing measurable.

A failure of the database (locked past the busy timeout, missing for a moment) or of the brokers is
waited out with backoff; nothing is skipped, since the checkpoint moves only after a page is acknowledged.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any, Protocol

import structlog
from aiokafka.errors import KafkaError, MessageSizeTooLargeError

from bridge import checkpoint
from bridge.database import TABLES, Directory, GameDatabase, Row, Table, year_change
from bridge.envelope import Calendar, record
from bridge.health import BridgeHealth
from knowledge.metrics import BRIDGE_LAG, BRIDGE_LAST_ID, BRIDGE_ROWS_PUBLISHED, BRIDGE_ROWS_UNPUBLISHABLE

log = structlog.get_logger(__name__)

RETRY_MAX_S = 10.0


class Progress(Protocol):
    """Told of the position after every page (a progress bar when a person runs the backfill)."""

    def update(self, done: int, total: int) -> None: ...


class Bridge:
    """Publishes the game's `events` and `press_releases` rows to the events topic."""

    def __init__(
        self,
        database: GameDatabase,
        producer: Any,
        topic: str,
        state_file: Path,
        page_rows: int,
        poll_s: float,
        progress: Progress | None = None,
    ) -> None:
        self._db = database
        self._producer = producer
        self._topic = topic
        self._state_file = state_file
        self._page_rows = page_rows
        self._poll_s = poll_s
        self._progress = progress
        #: what `/readyz` reports: stale when no round succeeded for 20 polls (at least 30 s)
        self.health = BridgeHealth(stale_after_s=max(30.0, 20 * poll_s))
        self.published = 0

    async def run(self, stop: asyncio.Event, *, until_caught_up: bool = False) -> dict[Table, int]:
        """Publish until `stop` is set (or, with `until_caught_up`, until every table is read to its
        end); return the position reached."""
        position = await asyncio.to_thread(checkpoint.load, self._state_file)
        log.info("bridge_started", database=str(self._db.path), position=position)
        calendar: Calendar | None = None
        delay = self._poll_s
        while not stop.is_set():
            try:
                if calendar is None:
                    calendar = Calendar(
                        await asyncio.to_thread(self._db.year_changes), await asyncio.to_thread(self._db.current_year)
                    )
                moved = await self._cycle(position, calendar)
                delay = self._poll_s
            except (sqlite3.Error, OSError, KafkaError, TimeoutError) as exc:
                log.warning("bridge_retry", error=repr(exc), delay_s=round(delay, 2))
                self.health.failed(repr(exc)[:300])
                moved = 0
                delay = min(delay * 2, RETRY_MAX_S)
            if moved == 0:
                if until_caught_up and delay == self._poll_s:
                    break
                try:
                    async with asyncio.timeout(delay):
                        await stop.wait()
                except TimeoutError:
                    pass
        log.info("bridge_stopped", position=position, published=self.published)
        return position

    async def _cycle(self, position: dict[Table, int], calendar: Calendar) -> int:
        """One page of each table that has new rows; the number of rows published."""
        ends = await asyncio.to_thread(self._db.last_ids)
        directory: Directory | None = None
        moved = 0
        for table in TABLES:
            rows = await asyncio.to_thread(self._db.page, table, position[table], self._page_rows)
            if not rows:
                continue
            if directory is None:
                directory = await asyncio.to_thread(self._db.directory)
            await self._publish(rows, calendar, directory)
            position[table] = rows[-1].id
            await asyncio.to_thread(checkpoint.save, self._state_file, position)
            moved += len(rows)
            BRIDGE_ROWS_PUBLISHED.labels(table).inc(len(rows))
        behind = {table: max(0, ends[table] - position[table]) for table in TABLES}
        for table in TABLES:
            BRIDGE_LAST_ID.labels(table).set(position[table])
            BRIDGE_LAG.labels(table).set(behind[table])
        self.health.succeeded(position, behind)
        if self._progress is not None:
            self._progress.update(sum(position.values()), max(sum(ends.values()), sum(position.values())))
        return moved

    async def _publish(self, rows: list[Row], calendar: Calendar, directory: Directory) -> None:
        """Send every row of a page and wait until the brokers acknowledged each one."""
        sent: list[tuple[Row, asyncio.Future[Any]]] = []
        for row in rows:
            if row.table == "events" and row.values.get("action") == "timeline_advanced":
                change = year_change(row.timestamp, row.values.get("payload"))
                if change is not None:
                    calendar.advance(change)
            key, value = record(row, calendar, directory)
            try:
                sent.append((row, await self._producer.send(self._topic, value=value, key=key)))
            except MessageSizeTooLargeError:
                self._unpublishable(row, len(value))
        for row, delivery in sent:
            try:
                await delivery
            except MessageSizeTooLargeError:
                self._unpublishable(row, -1)
        self.published += len(rows)

    def _unpublishable(self, row: Row, size: int) -> None:
        """A row too large for any Kafka record: logged with where to find it, and counted."""
        BRIDGE_ROWS_UNPUBLISHABLE.labels(row.table).inc()
        log.error("row_unpublishable", table=row.table, id=row.id, bytes=size, reason="larger than a Kafka record")

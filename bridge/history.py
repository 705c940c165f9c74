"""A database's whole history as the bridge publishes it, without Kafka: for benchmarks, tests and
judged query sets that need the game's real events (the dev season)."""

from __future__ import annotations

from collections.abc import Iterator

from bridge.database import TABLES, Directory, GameDatabase, Table
from bridge.envelope import Calendar, record


def records(database: GameDatabase, limit_per_table: int | None = None, page_rows: int = 1000) -> Iterator[bytes]:
    """The record value of every row (or the first `limit_per_table` of each table), table by table."""
    calendar = Calendar(database.year_changes(), database.current_year())
    directory = database.directory()
    for table in TABLES:
        yield from _table(database, table, calendar, directory, limit_per_table, page_rows)


def _table(
    database: GameDatabase, table: Table, calendar: Calendar, directory: Directory, limit: int | None, page: int
) -> Iterator[bytes]:
    after, left = 0, limit
    while left is None or left > 0:
        rows = database.page(table, after, page if left is None else min(page, left))
        if not rows:
            return
        for row in rows:
            yield record(row, calendar, directory)[1]
        after = rows[-1].id
        if left is not None:
            left -= len(rows)

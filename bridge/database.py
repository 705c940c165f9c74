"""Reading the game's SQLite database without ever getting in the game's way.

The game writes in SQLite's default rollback-journal mode, opening a connection per write. So the
bridge opens the file read-only (`mode=ro`), waits at most `busy_timeout` for a writer's lock, and
reads in short transactions: one page of rows by id at a time (`id > last ORDER BY id LIMIT n`, on the
primary key). Ids grow by one per row and the game has one writer at a time, so a row with a smaller
id is never committed after a larger one: paging by id misses nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

Table = Literal["events", "press_releases"]
TABLES: Final[tuple[Table, ...]] = ("events", "press_releases")
_COLUMNS: Final[dict[Table, str]] = {
    "events": "id, timestamp, action, payload",
    "press_releases": "id, timestamp, type, headline, body, metadata",
}


@dataclass(frozen=True)
class Row:
    """One row of `events` or `press_releases`, as the game wrote it."""

    table: Table
    id: int
    timestamp: str
    values: dict[str, Any]


@dataclass(frozen=True)
class YearChange:
    """A `timeline_advanced` event: from `timestamp` on, the game's year is `year`."""

    timestamp: str
    year: int
    before: int  # the year before it


@dataclass(frozen=True)
class Directory:
    """What the game's other tables say about the ids its rows carry: who each player and scholar is
    (`names`), and whose each offer is (`offers`)."""

    names: dict[str, str]
    offers: dict[int, dict[str, str]]


class GameDatabase:
    """The game's database, read-only."""

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One short read transaction on a fresh read-only connection."""
        if not self.path.is_file():
            raise FileNotFoundError(f"no game database at {self.path} (GREAT_WORK_DB)")
        uri = f"file:{self.path.resolve()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=self._busy_timeout_ms / 1000)) as connection:
            connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            yield connection

    def page(self, table: Table, after_id: int, limit: int) -> list[Row]:
        """Up to `limit` rows of `table` with ids above `after_id`, in id order."""
        with self._read() as db:
            found = db.execute(
                f"SELECT {_COLUMNS[table]} FROM {table} WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
            ).fetchall()
        names = [c.strip() for c in _COLUMNS[table].split(",")]
        return [Row(table, r[0], r[1], dict(zip(names[2:], r[2:], strict=True))) for r in found]

    def last_ids(self) -> dict[Table, int]:
        """The largest id of each table (0 when empty): how far the database is."""
        with self._read() as db:
            return {t: int(db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {t}").fetchone()[0]) for t in TABLES}

    def names(self) -> dict[str, str]:
        """Who each player and scholar id is, in words: players' display names, scholars' names."""
        found: dict[str, str] = {}
        with self._read() as db:
            for player_id, display_name in db.execute("SELECT id, display_name FROM players"):
                if isinstance(display_name, str) and display_name:
                    found[player_id] = display_name
            for scholar_id, data in db.execute("SELECT id, data FROM scholars"):
                name = _json_object(data).get("name")
                if isinstance(name, str) and name:
                    found[scholar_id] = name
        return found

    def directory(self) -> Directory:
        """The names and offers as they are now (read again whenever new rows are published)."""
        return Directory(self.names(), self.offers())

    def offers(self) -> dict[int, dict[str, str]]:
        """Who each offer of the `offers` table is between: {offer id: {"scholar", "rival", "patron"}}.
        A negotiation's result and a counter-offer name only offer ids; this says whose they are. A
        database without the table (or a row that is not readable) gives none."""
        found: dict[int, dict[str, str]] = {}
        with self._read() as db:
            try:
                rows = db.execute("SELECT id, scholar_id, payload FROM offers").fetchall()
            except sqlite3.OperationalError:  # no such table
                return found
        for offer_id, scholar_id, payload in rows:
            terms = _json_object(payload)
            parties = {"scholar": scholar_id, "rival": terms.get("rival_id"), "patron": terms.get("patron_id")}
            found[int(offer_id)] = {k: v for k, v in parties.items() if isinstance(v, str) and v}
        return found

    def year_changes(self, up_to_id: int | None = None) -> list[YearChange]:
        """Every `timeline_advanced` event (up to an id), in order: how the year moved."""
        query = "SELECT timestamp, payload FROM events WHERE action = 'timeline_advanced'"
        with self._read() as db:
            rows = db.execute(query + (" AND id <= ?" if up_to_id is not None else "") + " ORDER BY id",
                              (up_to_id,) if up_to_id is not None else ()).fetchall()  # fmt: skip
        return [change for ts, payload in rows if (change := year_change(ts, payload)) is not None]

    def current_year(self) -> int | None:
        """The game's year now (the `timeline` singleton), if it has one."""
        with self._read() as db:
            try:
                found = db.execute("SELECT current_year FROM timeline WHERE singleton = 1").fetchone()
            except sqlite3.OperationalError:  # no such table: a database without a timeline
                return None
        return int(found[0]) if found else None


def year_change(timestamp: str, payload: Any) -> YearChange | None:
    """The year change a `timeline_advanced` payload says, if it says one."""
    data = _json_object(payload)
    year, elapsed = data.get("current_year"), data.get("years_elapsed", 1)
    if not isinstance(year, int) or isinstance(year, bool):
        return None
    return YearChange(timestamp, year, year - (elapsed if isinstance(elapsed, int) else 1))


def _json_object(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

"""SQLite files with the game's own schema, written the way the game writes them (a connection per
write: execute, commit), for the bridge's tests. The schema is read from the dev season's database,
which the game itself made (../shared/dev-season)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

DEV_SEASON = ROOT.parent / "shared" / "dev-season" / "great_work.db"


def copy_dev_season(to: Path) -> Path:
    """A writable copy of the dev season (the original stays clean)."""
    shutil.copyfile(DEV_SEASON, to)
    to.chmod(0o644)
    return to


def empty_game_db(to: Path, *, players: int = 0, scholars: int = 0) -> Path:
    """A new database with the game's schema; the first `players` players and `scholars` scholars of the
    dev season (names for ids), a timeline, and no events or press."""
    with closing(sqlite3.connect(f"file:{DEV_SEASON}?mode=ro", uri=True)) as season:
        schema = [
            sql for (sql,) in season.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL")
        ]
        player_rows = season.execute("SELECT * FROM players LIMIT ?", (players,)).fetchall()
        scholar_rows = season.execute("SELECT * FROM scholars LIMIT ?", (scholars,)).fetchall()
    with closing(sqlite3.connect(to)) as db:
        for sql in schema:
            if "sqlite_sequence" not in sql:
                db.execute(sql)
        db.executemany("INSERT INTO players VALUES (?, ?, ?, ?, ?)", player_rows)
        db.executemany("INSERT INTO scholars VALUES (?, ?)", scholar_rows)
        db.execute("INSERT INTO timeline VALUES (1, 1920, '2025-09-01T00:00:00+00:00')")
        db.commit()
    return to


def season_rows(limit: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The dev season's first `limit` events and press releases (without their ids)."""
    with closing(sqlite3.connect(f"file:{DEV_SEASON}?mode=ro", uri=True)) as season:
        events = season.execute(
            "SELECT timestamp, action, payload FROM events ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
        press = season.execute(
            "SELECT timestamp, type, headline, body, metadata FROM press_releases ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
    return events, press


def write_event(path: Path, timestamp: str, action: str, payload: dict[str, Any] | str) -> None:
    """One game action, as the game writes it: connect, insert, commit."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    with closing(sqlite3.connect(path)) as db:
        db.execute("INSERT INTO events (timestamp, action, payload) VALUES (?, ?, ?)", (timestamp, action, text))
        db.commit()


def write_press(path: Path, row: tuple[Any, ...]) -> None:
    """One press release, as the game writes it."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("INSERT INTO press_releases (timestamp, type, headline, body, metadata) VALUES (?, ?, ?, ?, ?)", row)
        db.commit()


def count(path: Path, table: str) -> int:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

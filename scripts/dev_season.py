"""The dev season (`../shared/dev-season/great_work.db`, a database written by the game itself) as
this service's events: the sample data of tests, benchmarks and the judged query set."""

from __future__ import annotations

from pathlib import Path

from bridge.database import GameDatabase
from bridge.history import records
from consumers.decoding import decode_event
from schemas.events import GameEvent

ROOT = Path(__file__).resolve().parent.parent
DEV_SEASON = ROOT.parent / "shared" / "dev-season" / "great_work.db"


def dev_season_records(limit_per_table: int | None = None, path: Path = DEV_SEASON) -> list[bytes]:
    """The record values the bridge publishes for the season (or its first rows of each table)."""
    return list(records(GameDatabase(path, busy_timeout_ms=2000), limit_per_table))


def dev_season(limit_per_table: int | None = None, path: Path = DEV_SEASON) -> list[GameEvent]:
    """The season's events, decoded and validated as the consumer does."""
    return [decode_event(value, 10**7) for value in dev_season_records(limit_per_table, path)]

"""A row of the game's database -> a Kafka record in this service's envelope (README "Event envelope").

- `event_id` is `<table>:<row id>` (`events:123`, `press_releases:45`): one scheme for backfill and
  tail, so a re-published row overwrites its own point (docs/ai/qdrant_schemas.md).
- `game_time` is the game's year (`Y1923`), carried forward from `timeline_advanced` events: the
  database keeps only the current year, and no day.
- `names`: who the payload's player and scholar ids are, in words.
- `parties`: whose offers a negotiation's result and a counter-offer are about (the scholar, the rival,
  the employer), read from the game's `offers` table: those events name only offer ids.
- The key is the entity the event is about, so its events keep their order on one partition; a row
  that names none (two thirds of a season: scheduled press, digests) is keyed by its own event id, so
  those spread over every partition instead of piling up on a few keys such as the action's name.
"""

from __future__ import annotations

import bisect
import json
from datetime import UTC, datetime
from typing import Any, Final

from bridge.database import Directory, Row, YearChange
from schemas.events import MAX_NAMES, SCHEMA_VERSION, entity_key


def event_id(table: str, row_id: int) -> str:
    """The stable event id of a row."""
    return f"{table}:{row_id}"


class Calendar:
    """The game's year at any moment, from the year changes seen so far."""

    def __init__(self, changes: list[YearChange], current: int | None) -> None:
        self._times: list[datetime] = []
        self._years: list[int] = []
        self._first: int | None = changes[0].before if changes else current
        for change in changes:
            self.advance(change)

    def advance(self, change: YearChange) -> None:
        at = _moment(change.timestamp)
        if at is None or (self._times and at < self._times[-1]):
            return
        if not self._times and self._first is None:
            self._first = change.before
        self._times.append(at)
        self._years.append(change.year)

    def year_at(self, timestamp: str) -> int | None:
        at = _moment(timestamp)
        if at is None:
            return None
        index = bisect.bisect_right(self._times, at)
        return self._years[index - 1] if index else self._first


#: Where an action's payload names the offer its negotiation began with.
_FIRST_OFFER: Final = {"negotiation_resolved": "offer_chain", "counter_offer_created": "original_offer_id"}


def record(row: Row, calendar: Calendar, directory: Directory) -> tuple[bytes, bytes]:
    """The (key, value) of a row's Kafka record."""
    if row.table == "events":
        action = row.values["action"]
        payload: Any = _parsed(row.values["payload"])
    else:
        action = "press_release"
        payload = {
            "type": row.values["type"],
            "headline": row.values["headline"],
            "body": row.values["body"],
            "metadata": _parsed(row.values["metadata"]),
        }
    envelope: dict[str, Any] = {
        "event_id": event_id(row.table, row.id),
        "schema_version": SCHEMA_VERSION,
        "action": action,
        "occurred_at": row.timestamp,
        "payload": payload,
        "source": {"table": row.table, "id": row.id},
    }
    year = calendar.year_at(row.timestamp)
    if year is not None:
        envelope["game_time"] = f"Y{year}"
    parties = _parties(action, payload, directory.offers)
    if parties:
        envelope["parties"] = parties
    named = {**_names_in(payload, directory.names), **_names_in(parties, directory.names)}
    if named:
        envelope["names"] = named
    key = entity_key(payload) if isinstance(payload, dict) else None
    return (key or envelope["event_id"]).encode(), json.dumps(envelope, ensure_ascii=False).encode()


def _parties(action: str, payload: Any, offers: dict[int, dict[str, str]]) -> dict[str, str]:
    """Who the negotiation an event is about is between, by the first offer its payload names."""
    named = payload.get(_FIRST_OFFER[action]) if action in _FIRST_OFFER and isinstance(payload, dict) else None
    first = named[0] if isinstance(named, list) and named else named
    return dict(offers.get(first, {})) if isinstance(first, int) and not isinstance(first, bool) else {}


def _parsed(text: Any) -> Any:
    """A JSON column's value; the text itself when it is not JSON (the consumer then dead-letters the
    record with the reason, so nothing is dropped here)."""
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def _names_in(payload: Any, names: dict[str, str]) -> dict[str, str]:
    """The names of the known ids among the payload's strings (two levels deep: metadata, teams)."""
    found: dict[str, str] = {}
    stack: list[tuple[Any, int]] = [(payload, 0)]
    while stack and len(found) < MAX_NAMES:
        value, depth = stack.pop()
        if isinstance(value, str):
            if value in names:
                found[value] = names[value]
        elif isinstance(value, dict) and depth < 3:
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list) and depth < 3:
            stack.extend((v, depth + 1) for v in value)
    return found


def _moment(timestamp: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(timestamp)
    except (TypeError, ValueError):
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # the game writes UTC

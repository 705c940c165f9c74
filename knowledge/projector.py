"""Event -> knowledge document, and the point id. Pure: no I/O, no clock.

The game spells one idea several ways (`player` / `player_id`, `scholar` / `scholar_id`, `code` /
`expedition_code`); this module maps every spelling to the one filter field that search uses.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any, Final

from knowledge.rendering import render
from schemas.documents import (
    Category,
    DocumentBase,
    ExpeditionDocument,
    GamestateDocument,
    KafkaSource,
    PressDocument,
    ScholarDocument,
    SymposiumDocument,
    unix_seconds,
)
from schemas.events import GameEvent

#: Namespace of point ids. Never change it: every stored point id derives from it.
POINT_NAMESPACE: Final = uuid.UUID("6f1d4c1e-2b52-5c1a-9a53-0c7a1e6b9e42")

_SCHOLAR_ACTIONS = {
    "scholar_spawned", "scholar_retired", "career_progression", "recruitment_attempt",
    "mentorship_queued", "mentorship_activated", "followup_resolved", "offer_created",
    "counter_offer_created", "negotiation_resolved", "nickname_adopted", "sidecast_followup",
    "lab_assigned", "defection_epilogue", "defection_evaluated", "admin_force_defection",
}  # fmt: skip
_EXPEDITION_ACTIONS = {
    "expedition_queued", "launch_expedition", "expedition_resolved", "scholar_sidecast",
    "sideways_order_scheduled", "admin_cancel_expedition",
}  # fmt: skip
_PRESS_ACTIONS = {
    "press_release", "press_scheduled", "scheduled_press_released", "digest_highlights_generated",
    "press_shared", "sideways_press_scheduled",
}  # fmt: skip


#: Actions whose payload names its scholar as `id` (and `name`).
_SCHOLAR_BY_ID = frozenset({"scholar_spawned", "scholar_retired"})


def category_of(action: str) -> Category:
    """The `docs/ai` category an action's document belongs to; unknown actions are game state."""
    if action in _PRESS_ACTIONS:
        return Category.PRESS
    if action in _EXPEDITION_ACTIONS:
        return Category.EXPEDITION
    if action in _SCHOLAR_ACTIONS:
        return Category.SCHOLAR
    if action.startswith("symposium_"):
        return Category.SYMPOSIUM
    return Category.GAMESTATE


# Payload keys (in the event payload or a press release's metadata) and what they name.
_PLAYER_KEYS = ("player", "player_id", "rival", "patron", "mentor", "sponsor", "actor_id", "subject_id",
                "winner", "loser", "former_employer", "actor")  # fmt: skip
_PLAYER_LIST_KEYS = ("supporters", "opposition", "non_voters")
_SCHOLAR_KEYS = ("scholar", "scholar_id")
_SCHOLAR_LIST_KEYS = ("team",)
_EXPEDITION_KEYS = ("expedition_code", "expedition", "order_code")
#: An expedition's code (`TT-001`, `FD-017`) or a conference's (`CONF-8494`): the thread's name.
_EXPEDITION_CODE = re.compile(r"^[A-Z]{2,4}-\d{3,}$")
#: A code named in a press release's words ("Retraction Notice: Expedition TT-001 (Think_Tank)").
_CODE_IN_TEXT = re.compile(r"(?<![\w-])[A-Z]{2,4}-\d{3,}(?![\w-])")
_SCHOLAR_ID = re.compile(r"^s\.[\w.-]+$")
_PLAYER_ID = re.compile(r"^[\w.-]{1,100}$")


def point_id(event_id: str) -> uuid.UUID:
    """The point id of an event: UUIDv5, so a redelivered event overwrites its own point."""
    return uuid.uuid5(POINT_NAMESPACE, event_id)


def _strings(values: Iterable[Any]) -> list[str]:
    return [v for v in values if isinstance(v, str) and v]


def _scalar_values(sources: list[dict[str, Any]], keys: Iterable[str]) -> list[str]:
    return _strings(source.get(key) for source in sources for key in keys)


def _list_values(sources: list[dict[str, Any]], keys: Iterable[str]) -> list[str]:
    found: list[Any] = []
    for source in sources:
        for key in keys:
            value = source.get(key)
            if isinstance(value, list):
                found.extend(item.get("id") if isinstance(item, dict) else item for item in value)
    return _strings(found)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


class _Ids:
    """The players, scholars and expedition an event names, from every spelling the game uses."""

    def __init__(self, event: GameEvent) -> None:
        payload = event.payload
        sources = [payload, _metadata(event)]
        scholars = _scalar_values(sources, _SCHOLAR_KEYS) + [
            s for s in _list_values(sources, _SCHOLAR_LIST_KEYS) if _SCHOLAR_ID.match(s)
        ]
        if event.action in _SCHOLAR_BY_ID:
            scholars = _strings([payload.get("id")]) + scholars
        players = _scalar_values(sources, _PLAYER_KEYS) + _list_values(sources, _PLAYER_LIST_KEYS)
        parties = event.parties
        scholars += [parties["scholar"]] if _SCHOLAR_ID.match(parties.get("scholar", "")) else []
        players += [parties[p] for p in ("rival", "patron") if p in parties]
        self.scholar_ids = _unique(scholars)
        self.player_ids = _unique(p for p in players if _PLAYER_ID.match(p) and p not in self.scholar_ids)
        codes = _scalar_values(sources, ("code", *_EXPEDITION_KEYS))
        if event.action == "press_release":  # a press release often names its thread only in its words
            named = _CODE_IN_TEXT.search(f"{payload.get('headline')} {payload.get('body')}")
            codes += [named.group()] if named else []
        self.expedition_code = next((c for c in codes if _EXPEDITION_CODE.match(c)), None)


def _outcome(payload: dict[str, Any]) -> str | None:
    for key in ("result", "outcome"):
        value = payload.get(key)
        if isinstance(value, str):
            return value
    for key in ("success", "accepted"):
        value = payload.get(key)
        if isinstance(value, bool):
            return "success" if value else "failure"
    if "winner" in payload and isinstance(payload.get("winner"), str):
        return f"option {payload['winner']}"
    return None


def _metadata(event: GameEvent) -> dict[str, Any]:
    metadata = event.payload.get("metadata") if event.action == "press_release" else None
    return metadata if isinstance(metadata, dict) else {}


def _keywords(event: GameEvent, ids: _Ids, extra: Iterable[str | None]) -> list[str]:
    payload = event.payload
    words: list[str | None] = [event.action, *event.action.split("_"), ids.expedition_code, *extra]
    for key in ("code", "faction", "type", "expedition_type", "new_tier", "arc", "kind", "career_track"):
        value = payload.get(key)
        if isinstance(value, str):
            words.append(value)
    return _unique(w.lower() for w in words if w)


def project(event: GameEvent, source: KafkaSource | None = None) -> DocumentBase:
    """The knowledge document of one event."""
    ids = _Ids(event)
    category = category_of(event.action)
    title, sentence = render(event.action, event.payload)
    game_time = event.parsed_game_time
    when = event.occurred_at.strftime("%Y-%m-%d %H:%M UTC%z").replace("UTC+0000", "UTC")
    clock = f"game time {game_time}, " if game_time else ""
    who = " ".join(part for part in (_between(event), _who(event, ids)) if part)
    sentence = f"{sentence} {who}" if who else sentence
    content = f"{sentence} [{clock}{when}]"
    press_type = event.press().type if event.action == "press_release" else None
    common: dict[str, Any] = {
        "id": point_id(event.event_id),
        "event_id": event.event_id,
        "subcategory": press_type or event.action,
        "action": event.action,
        "title": title,
        "content": content,
        "participants": ids.player_ids + ids.scholar_ids,
        "player_ids": ids.player_ids,
        "scholar_ids": ids.scholar_ids,
        "expedition_code": ids.expedition_code,
        "outcome": _outcome(event.payload) or _outcome(_metadata(event)),
        "occurred_at": event.occurred_at,
        "occurred_at_ts": unix_seconds(event.occurred_at),
        "game_year": game_time.year if game_time else None,
        "game_day": game_time.day if game_time else None,
        "schema_version": event.schema_version,
        "payload": event.payload,
        "source": source,
        "keywords": _keywords(event, ids, [press_type]),
    }
    document = _build(category, event, common)
    document._sentence = sentence
    return document


def _between(event: GameEvent) -> str:
    """Whose negotiation it is, from the parties its envelope carries ("Between: the rival player
    lenka_h and the employer, player priya_r, over scholar s.proc-021."); empty when it carries none."""
    p = event.parties
    sides = [
        f"the rival player {p['rival']}" if "rival" in p else "",
        f"the employer, player {p['patron']}" if "patron" in p else "",
    ]
    named = " and ".join(side for side in sides if side)
    over = f"over scholar {p['scholar']}" if "scholar" in p else ""
    said = ", ".join(part for part in (named, over) if part)
    return f"Between: {said}." if said else ""


def _who(event: GameEvent, ids: _Ids) -> str:
    """The people the event names, in words as well as by id ("Who: Dr Elara Blackstone (s.proc-001)."),
    from the names its envelope carries; empty when it carries none that differ from the ids."""
    named = [
        f"{event.names[i]} ({i})"
        for i in [*ids.player_ids, *ids.scholar_ids]
        if event.names.get(i) and event.names[i] != i
    ]
    return f"Who: {', '.join(named)}." if named else ""


def _build(category: Category, event: GameEvent, common: dict[str, Any]) -> DocumentBase:
    p = event.payload
    if category is Category.PRESS:
        return PressDocument(
            **common,
            press_type=common["subcategory"] if event.action == "press_release" else None,
            headline=_str(p.get("headline")),
            body=_str(p.get("body")),
        )
    if category is Category.EXPEDITION:
        return ExpeditionDocument(
            **common,
            expedition_type=_str(p.get("type") or p.get("expedition_type")),
            objective=_str(p.get("objective")),
        )
    if category is Category.SCHOLAR:
        name = p.get("name") if event.action in _SCHOLAR_BY_ID else None
        return ScholarDocument(
            **common, scholar_name=_str(name), faction=_str(p.get("faction") or p.get("new_faction"))
        )
    if category is Category.SYMPOSIUM:
        return SymposiumDocument(
            **common,
            topic_id=_int(p.get("topic_id")),
            proposal_id=_int(p.get("proposal_id")),
            topic=_str(p.get("topic")),
        )
    return GamestateDocument(**common, faction=_str(p.get("faction")))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

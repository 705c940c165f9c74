"""The event envelope on the Kafka topic, and the payloads the game writes.

One Kafka record value is one JSON `GameEvent`. The envelope is strict (a record that is not a valid
envelope is a bad event and goes to the dead-letter topic); the payload is checked against the model
of its action when the action is known, and kept whole: fields the game adds later pass through.
An action we do not know yet is not an error: it is indexed as a generic game-state document.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas.payloads import PAYLOAD_MODELS, PressReleasePayload

#: The current envelope version. Older versions are accepted as long as their shape is the same.
SCHEMA_VERSION: Final = 1

#: Upper bounds that keep one hostile record from costing more than it is worth.
MAX_EVENT_ID_CHARS: Final = 200
MAX_ACTION_CHARS: Final = 100

_GAME_TIME = re.compile(r"^Y(?P<year>\d{1,6})(?:\.D(?P<day>\d{1,4}))?$")
#: Most names an envelope may carry, and the longest id and name.
MAX_NAMES: Final = 200
MAX_NAME_CHARS: Final = 200
#: The payload (or press metadata) fields that name the entity an event is about, in order of preference.
ENTITY_FIELDS: Final = ("code", "expedition_code", "scholar", "scholar_id", "player", "player_id")


#: The parties of a negotiation an envelope may name (`GameEvent.parties`).
PARTIES: Final = ("scholar", "rival", "patron")


class GameTime(BaseModel):
    """The game's own clock, written as "Y57.D19" (year 57, day 19), or "Y1923" (the year alone: the
    game's database keeps no day, so the bridge sends the year it carries forward)."""

    model_config = ConfigDict(frozen=True)

    year: int
    day: int | None = None

    @classmethod
    def parse(cls, text: str) -> GameTime:
        """Parse "Y<year>.D<day>"; raise ValueError naming the expected form otherwise."""
        match = _GAME_TIME.match(text)
        if match is None:
            raise ValueError(f"game_time must look like 'Y57.D19' or 'Y1923', got {text!r}")
        return cls(year=int(match["year"]), day=int(match["day"]) if match["day"] else None)

    def __str__(self) -> str:
        return f"Y{self.year}" if self.day is None else f"Y{self.year}.D{self.day}"


class GameEvent(BaseModel):
    """One game action, as the game backend publishes it to Kafka."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: str = Field(min_length=1, max_length=MAX_EVENT_ID_CHARS)
    schema_version: int = Field(default=SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)
    action: str = Field(min_length=1, max_length=MAX_ACTION_CHARS, pattern=r"^[a-z][a-z0-9_]*$")
    occurred_at: AwareDatetime
    game_time: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    #: Who the payload's ids are, in words: {"s.proc-027": "Dr Elara Blackstone"} (the bridge reads them
    #: from the game's database; events name people by id only). Only an aid to reading: what does not
    #: fit (a name that is not text, an id or name too long, more than MAX_NAMES) is left out or cut,
    #: never a reason to refuse the event.
    names: dict[str, str] = Field(default_factory=dict)
    #: Whose negotiation a `negotiation_resolved` or `counter_offer_created` is about, which its payload
    #: tells by offer ids only: {"scholar": "s.proc-021", "rival": "lenka_h", "patron": "priya_r"} (the
    #: bridge reads it from the game's `offers` table). An aid as `names` is: what does not fit (another
    #: key, a value that is not text or is too long) is left out, never a reason to refuse the event.
    parties: dict[str, str] = Field(default_factory=dict)

    @field_validator("names", mode="before")
    @classmethod
    def _names_that_fit(cls, value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            return {}
        fitting = ((k, v) for k, v in value.items() if isinstance(k, str) and isinstance(v, str) and v)
        return dict(
            itertools.islice(((k, v[:MAX_NAME_CHARS]) for k, v in fitting if len(k) <= MAX_NAME_CHARS), MAX_NAMES)
        )

    @field_validator("parties", mode="before")
    @classmethod
    def _parties_that_fit(cls, value: Any) -> dict[str, str]:
        # only the three keys are looked at, so no number of other keys can crowd them out; an id is
        # never cut (a cut id would name someone else), one too long is left out
        found = {k: value.get(k) for k in PARTIES} if isinstance(value, dict) else {}
        return {k: v for k, v in found.items() if isinstance(v, str) and 0 < len(v) <= MAX_NAME_CHARS}

    @field_validator("event_id")
    @classmethod
    def _event_id_is_printable(cls, value: str) -> str:
        if not value.isprintable() or value.strip() != value:
            raise ValueError("event_id must be printable, without leading or trailing spaces")
        return value

    @field_validator("game_time")
    @classmethod
    def _game_time_has_form(cls, value: str | None) -> str | None:
        if value is not None:
            GameTime.parse(value)
        return value

    @field_validator("payload")
    @classmethod
    def _payload_matches_action(cls, value: dict[str, Any], info: Any) -> dict[str, Any]:
        action = info.data.get("action")
        model = PAYLOAD_MODELS.get(action) if isinstance(action, str) else None
        if model is not None:
            try:
                model.model_validate(value)
            except ValidationError as exc:
                raise ValueError(_describe_payload_errors(exc)) from None
        return value

    @property
    def parsed_game_time(self) -> GameTime | None:
        """The game clock as numbers, when the event carries it."""
        return GameTime.parse(self.game_time) if self.game_time else None

    @property
    def known_action(self) -> bool:
        """Whether this action has a payload model (every action in the game's catalogue has one)."""
        return self.action in PAYLOAD_MODELS

    def press(self) -> PressReleasePayload:
        """The payload of a `press_release` event, typed."""
        return PressReleasePayload.model_validate(self.payload)


def entity_key(payload: dict[str, Any]) -> str | None:
    """The entity an event is about (an expedition code, a scholar, a player), from the payload or a
    press release's metadata; None when it names none. It is the Kafka key, so one entity's events
    stay in order on one partition."""
    found = payload.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    for field in ENTITY_FIELDS:
        value = payload.get(field) or metadata.get(field)
        if isinstance(value, str) and value:
            return value
    return None


def _describe_payload_errors(exc: ValidationError) -> str:
    """One line naming each payload field that is wrong and why."""
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "payload"
        parts.append(f"payload.{field}: {error['msg']}")
    return "; ".join(parts)


def occurred_at_text(value: datetime) -> str:
    """The RFC 3339 form stored in payloads and indexed as a datetime."""
    return value.isoformat()

"""The envelope parser: what is accepted, what is refused and how the refusal reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from consumers.decoding import decode_event
from consumers.errors import BadEvent
from schemas.dead_letter import DeadLetterReason
from schemas.events import GameEvent, GameTime
from schemas.payloads import PAYLOAD_MODELS

event_ids = st.text(
    st.characters(min_codepoint=33, max_codepoint=0x2FFF, categories=["L", "N", "P"]), min_size=1, max_size=60
)
actions = st.from_regex(r"^[a-z][a-z0-9_]{0,30}$", fullmatch=True).filter(lambda a: a not in PAYLOAD_MODELS)
json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(
    event_id=event_ids,
    action=actions,
    occurred_at=moments,
    payload=st.dictionaries(st.text(max_size=12), json_values, max_size=6),
    year=st.integers(0, 999),
    day=st.integers(0, 999),
)
def test_any_well_formed_envelope_round_trips(
    event_id: str, action: str, occurred_at: datetime, payload: dict[str, object], year: int, day: int
) -> None:
    raw = {
        "event_id": event_id,
        "action": action,
        "occurred_at": occurred_at.isoformat(),
        "game_time": f"Y{year}.D{day}",
        "payload": payload,
    }
    event = decode_event(json.dumps(raw).encode(), 1_000_000)
    assert event.event_id == event_id
    assert event.occurred_at == occurred_at
    assert event.payload == payload
    assert event.parsed_game_time == GameTime(year=year, day=day)
    assert not event.known_action


@given(st.binary(max_size=200))
def test_arbitrary_bytes_either_parse_or_raise_bad_event(data: bytes) -> None:
    try:
        decode_event(data, 1_000_000)
    except BadEvent as bad:
        assert bad.detail
        assert bad.reason in DeadLetterReason


@pytest.mark.parametrize(
    ("raw", "reason", "mentions"),
    [
        (b"", DeadLetterReason.EMPTY, "no value"),
        (b"x" * 2000, DeadLetterReason.TOO_LARGE, "limit is 1024"),
        (b"\xc3\x28", DeadLetterReason.INVALID_UTF8, "not UTF-8"),
        (b'{"event_id": ', DeadLetterReason.INVALID_JSON, "json"),
        (b"[1, 2]", DeadLetterReason.SCHEMA_VIOLATION, "value"),
        (
            b'{"event_id": "e", "action": "x", "occurred_at": "2025-03-01T00:00:00"}',
            DeadLetterReason.SCHEMA_VIOLATION,
            "occurred_at",
        ),
        (
            b'{"event_id": "e", "action": "Bad Action", "occurred_at": "2025-03-01T00:00:00Z"}',
            DeadLetterReason.SCHEMA_VIOLATION,
            "action",
        ),
        (
            b'{"event_id": "e", "action": "x", "occurred_at": "2025-03-01T00:00:00Z", "game_time": "57/19"}',
            DeadLetterReason.SCHEMA_VIOLATION,
            "Y57.D19",
        ),
        (
            b'{"event_id": "e", "action": "press_release", "occurred_at": "2025-03-01T00:00:00Z", '
            b'"payload": {"body": "b"}}',
            DeadLetterReason.SCHEMA_VIOLATION,
            "payload.type",
        ),
    ],
)
def test_bad_records_name_their_reason(raw: bytes, reason: DeadLetterReason, mentions: str) -> None:
    with pytest.raises(BadEvent) as caught:
        decode_event(raw, 1024)
    assert caught.value.reason is reason
    assert mentions.lower() in caught.value.detail.lower()


def test_known_action_payload_types_are_checked() -> None:
    base = {"event_id": "e1", "action": "expedition_resolved", "occurred_at": "2025-03-01T00:00:00Z"}
    good = {"code": "FD-004", "player": "p.ada", "result": "success", "roll": 70, "extra_field": [1]}
    assert GameEvent.model_validate({**base, "payload": good}).known_action
    with pytest.raises(ValidationError, match=r"payload\.roll"):
        GameEvent.model_validate({**base, "payload": {**good, "roll": "70"}})
    with pytest.raises(ValidationError, match=r"payload\.code"):
        GameEvent.model_validate({**base, "payload": {"player": "p.ada", "result": "success"}})


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("scholar_retired", {"id": "s.proc-004", "name": "Dr Orion Ashraf"}),  # the game's retirement path
        ("scholar_retired", {"scholar": "s.proc-004", "reason": "age"}),
        ("game_paused", {"reason": "LLM outage", "source": "llm"}),  # the game pausing itself: no admin
        ("game_resumed", {"was_paused": True}),
        ("sideways_vignette", {"scholar": "s.proc-004", "headline": "A quiet afternoon", "tags": ["archive"]}),
    ],
)
def test_every_payload_the_games_code_writes_is_accepted(action: str, payload: dict[str, object]) -> None:
    event = GameEvent.model_validate(
        {"event_id": "e", "action": action, "occurred_at": "2025-09-01T00:00:00Z", "payload": payload}
    )
    assert event.payload == payload


def test_a_scholar_retired_without_a_scholar_is_refused() -> None:
    with pytest.raises(ValidationError, match="scholar"):
        GameEvent.model_validate({"event_id": "e", "action": "scholar_retired", "occurred_at": "2025-09-01T00:00:00Z",
                                  "payload": {"name": "nobody"}})  # fmt: skip


def test_the_year_alone_is_a_game_time() -> None:
    assert GameTime.parse("Y1923") == GameTime(year=1923, day=None)
    assert str(GameTime.parse("Y1923")) == "Y1923" and str(GameTime.parse("Y57.D19")) == "Y57.D19"


def test_names_that_do_not_fit_are_cut_or_left_out_never_a_reason_to_refuse_the_event() -> None:
    names = {"s.1": "D" * 300, "x" * 300: "too long an id", "s.2": 7, "s.3": "", **{f"p{i}": "n" for i in range(300)}}
    event = decode_event(json.dumps({"event_id": "events:1", "action": "scholar_spawned", "names": names,
                                     "occurred_at": "2025-09-01T06:00:00+00:00",
                                     "payload": {"id": "s.1", "name": "x"}}).encode(), 1_000_000)  # fmt: skip
    assert event.names["s.1"] == "D" * 200
    assert "x" * 300 not in event.names and "s.2" not in event.names and "s.3" not in event.names
    assert len(event.names) == 200
    assert decode_event(b'{"event_id": "e", "action": "x", "occurred_at": "2025-09-01T00:00:00Z", "names": [1]}',
                        10_000).names == {}  # fmt: skip


def test_parties_that_do_not_fit_are_left_out_never_a_reason_to_refuse_the_event() -> None:
    parties = {"scholar": "s.proc-021", "rival": "p" * 300, "patron": 7, "judge": "p.x", "": "p.y"}
    event = decode_event(json.dumps({"event_id": "events:386", "action": "negotiation_resolved", "parties": parties,
                                     "occurred_at": "2025-09-03T13:00:00+00:00",
                                     "payload": {"offer_chain": [1, 2], "best_offer": 2, "probability": 0.05,
                                                 "roll": 0.65, "accepted": False}}).encode(), 1_000_000)  # fmt: skip
    assert event.parties == {"scholar": "s.proc-021"}, "a cut id would name someone else: left out"
    crowded = {**{f"k{i}": "v" for i in range(300)}, "scholar": "s." + "x" * 198}
    record = {"event_id": "e", "action": "x", "occurred_at": "2025-09-01T00:00:00Z", "parties": crowded}
    assert decode_event(json.dumps(record).encode(), 1_000_000).parties == {"scholar": "s." + "x" * 198}
    for odd in ([1], "s.proc-021", None, {"scholar": {"id": "s.1"}}):
        record = {"event_id": "e", "action": "x", "occurred_at": "2025-09-01T00:00:00Z", "parties": odd}
        assert decode_event(json.dumps(record).encode(), 10_000).parties == {}

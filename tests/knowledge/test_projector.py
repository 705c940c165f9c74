"""Event -> document: every action of the catalogue, the game's spellings, and the point id."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from knowledge.projector import category_of, point_id, project
from knowledge.rendering import MAX_BLANK_CHARS, MAX_BLANKS, filled
from schemas.documents import Category, ExpeditionDocument, PressDocument, document_from_payload, to_payload
from schemas.events import GameEvent
from schemas.payloads import PAYLOAD_MODELS
from scripts.sample_season import season

SEASON = [GameEvent.model_validate(e) for e in season(4000, seed=1)]


def event(action: str, payload: dict[str, object], **extra: object) -> GameEvent:
    return GameEvent.model_validate(
        {"event_id": "e-1", "action": action, "occurred_at": "2025-03-03T14:19:56+00:00", "payload": payload, **extra}
    )


def test_the_sample_season_covers_every_catalogue_action() -> None:
    assert {e.action for e in SEASON} == set(PAYLOAD_MODELS)


def test_every_action_projects_to_a_self_contained_document_that_round_trips() -> None:
    for ev in SEASON:
        document = project(ev)
        assert document.category is category_of(ev.action)
        assert document.content and "unknown" not in document.title
        assert "2025-" in document.content
        assert to_payload(document_from_payload(to_payload(document))) == to_payload(document)


def test_expedition_document_names_who_what_and_how() -> None:
    doc = project(
        event(
            "expedition_resolved",
            {"code": "FD-004", "player": "p.ada", "type": "field", "result": "landmark", "roll": 91, "modifier": 9,
             "final": 100, "confidence": "certain", "reputation_delta": 15, "reputation_after": 40},
            game_time="Y57.D19",
        )
    )  # fmt: skip
    assert isinstance(doc, ExpeditionDocument)
    assert doc.expedition_code == "FD-004" and doc.player_ids == ["p.ada"] and doc.outcome == "landmark"
    assert (doc.game_year, doc.game_day) == (57, 19)
    for fragment in ("EXPEDITION FD-004 (field: fieldwork", "p.ada", "landmark", "roll 91", "game time Y57.D19"):
        assert fragment in doc.content


def test_the_games_spellings_map_to_one_filter_field() -> None:
    queued = project(event("expedition_queued", {"code": "FD-009", "player_id": "p.curie", "team": ["s.okafor"]}))
    launched = project(event("launch_expedition", {"code": "FD-009", "player": "p.curie"}))
    nickname = project(event("nickname_adopted", {"player_id": "p.curie", "scholar_id": "s.okafor", "nickname": "Owl"}))
    cancel = project(event("admin_cancel_expedition", {"admin": "a", "expedition_code": "FD-009"}))
    assert queued.player_ids == launched.player_ids == nickname.player_ids == ["p.curie"]
    assert queued.scholar_ids == nickname.scholar_ids == ["s.okafor"]
    assert queued.expedition_code == launched.expedition_code == cancel.expedition_code == "FD-009"
    assert "Okafor (s.okafor)" in nickname.content


def test_press_release_metadata_names_are_filterable() -> None:
    doc = project(
        event(
            "press_release",
            {"type": "recruitment_report", "headline": "Ada recruits Ibarra", "body": "A coup.",
             "metadata": {"player": "p.ada", "scholar": "s.ibarra", "faction": "academia"}},
        )
    )  # fmt: skip
    assert isinstance(doc, PressDocument)
    assert doc.subcategory == "recruitment_report" and doc.press_type == "recruitment_report"
    assert doc.player_ids == ["p.ada"] and doc.scholar_ids == ["s.ibarra"]
    assert "Ada recruits Ibarra" in doc.content and "A coup." in doc.content


def test_blanks_the_game_left_in_a_press_release_are_filled_from_its_own_metadata() -> None:
    doc = project(
        event(
            "press_release",
            {"type": "table_talk_digest", "headline": "Table Talk Digest — {speaker}",
             "body": "{speaker} on {topic}; {flag} {votes}",
             "metadata": {"speaker": "marguerite", "flag": True, "votes": {"1": 2}}},
        )
    )  # fmt: skip
    assert doc.title == "TABLE TALK DIGEST: Table Talk Digest — marguerite"
    # a blank the metadata does not hold as a plain value stays as the game wrote it
    assert "Headline: Table Talk Digest — marguerite. marguerite on {topic}; {flag} {votes}" in doc.content


def test_filling_blanks_cannot_blow_a_document_up() -> None:
    """A hostile record of many blanks and one long value stays about its own size."""
    text = "{x}" * 10_000
    assert filled(text, {"x": "y" * 10_000}) == text
    longest = "y" * MAX_BLANK_CHARS
    assert filled(text, {"x": longest}) == longest * MAX_BLANKS + "{x}" * (10_000 - MAX_BLANKS)
    assert filled("{x} {x}", {"x": 7}) == "7 7"
    assert filled("{x}", {"x": True}) == filled("{x}", {"x": 10**5000}) == "{x}"


@given(text=st.text(max_size=40), metadata=st.dictionaries(st.text(max_size=8), st.none() | st.text(max_size=8)))
def test_filling_blanks_never_raises_and_leaves_other_text_alone(text: str, metadata: dict[str, object]) -> None:
    out = filled(text, metadata)
    assert out == text if "{" not in text else isinstance(out, str)


def test_a_title_says_the_coded_values_that_define_the_event_when_the_game_wrote_them() -> None:
    theory = {"player": "p.ada", "theory": "Bronze calendars", "confidence": "suspect", "supporters": []}
    assert project(event("submit_theory", theory)).title == "Theory submitted by p.ada, a hunch"
    launched = {"code": "CONF-1", "player": "p.ada", "theory_id": 1, "confidence": "stake_my_career"}
    assert project(event("conference_launched", launched)).title == "Conference CONF-1 launched, a career staked on it"
    without = {"code": "FD-1", "player_id": "p.ada", "expedition_type": "field", "objective": "x"}
    assert (
        project(event("expedition_queued", without)).title
        == "Expedition FD-1 (fieldwork) queued (planned, waiting to set off)"
    )
    launch = {"code": "TT-1", "player": "p.ada", "type": "think_tank", "prep_depth": "shallow", "confidence": "certain"}
    assert (
        project(event("launch_expedition", launch)).title
        == "Expedition TT-1 (a think tank) launched, little preparation, sure of it"
    )
    mentorship = {"player": "p.ada", "scholar": "s.ito", "career_track": "Industry", "mentorship_id": 3}
    assert (
        project(event("mentorship_queued", mentorship)).title
        == "Mentorship of s.ito queued, towards work for companies"
    )
    untracked = {**mentorship, "career_track": None}
    assert project(event("mentorship_queued", untracked)).title == "Mentorship of s.ito queued"
    story = {"scholar": "s.ito", "arc": "archive_ghost", "phase": "spotlight", "sponsor": "p.ada"}
    assert (
        project(event("sidecast_followup", story)).title
        == "Sidecast archive_ghost spotlight for s.ito: a forgotten figure from the archives, in the spotlight"
    )
    followup = {"scholar": "s.ito", "kind": "recruitment_grudge", "order_id": 3}
    assert project(event("followup_resolved", followup)).title.endswith(
        ": a scholar's grudge after a failed recruitment"
    )
    reminder = {"topic_id": 1, "player": "p.ada", "reminder_level": "escalation", "pledge_amount": 2}
    assert project(event("symposium_vote_reminder", reminder)).title.endswith(": a second, sterner reminder")
    odd = {**story, "arc": "a_new_arc: of sorts"}  # a value the glossary does not know reads as itself, whole
    assert project(event("sidecast_followup", odd)).title.endswith(": a_new_arc: of sorts, in the spotlight")


def test_a_negotiation_names_its_parties_when_the_envelope_carries_them() -> None:
    payload = {"counter_offer_id": 2, "original_offer_id": 1, "patron": "p.ada", "influence": {"academia": 2}}
    parties = {"scholar": "s.ito", "rival": "p.bly", "patron": "p.ada"}
    doc = project(GameEvent.model_validate({"event_id": "e-1", "action": "counter_offer_created",
                                            "occurred_at": "2025-09-02T10:22:44Z", "payload": payload,
                                            "parties": parties, "names": {"s.ito": "Dr Ito"}}))  # fmt: skip
    assert doc.scholar_ids == ["s.ito"] and set(doc.player_ids) == {"p.ada", "p.bly"}
    assert (
        "Between: the rival player p.bly and the employer, player p.ada, over scholar s.ito. Who: Dr Ito" in doc.content
    )
    alone = project(GameEvent.model_validate({"event_id": "e-2", "action": "counter_offer_created",
                                              "occurred_at": "2025-09-02T10:22:44Z", "payload": payload}))  # fmt: skip
    assert alone.scholar_ids == [] and alone.player_ids == ["p.ada"] and "Between" not in alone.content


def test_a_symposium_result_says_how_many_votes_each_option_had() -> None:
    payload = {"topic_id": 2, "winner": "1", "votes": {"1": 5, "3": 1}, "proposal_id": 5, "non_voters": []}
    doc = project(event("symposium_resolved", payload))
    assert "option 1 (to support the proposition) won. Votes: 5 for option 1, 1 for option 3." in doc.content


def test_point_id_is_stable_and_distinct() -> None:
    assert point_id("evt-1") == point_id("evt-1")
    assert point_id("evt-1") != point_id("evt-2")
    # Pinned: a changed namespace would orphan every stored point.
    assert str(point_id("evt-1")) == "6bb718b9-a183-50c1-8a45-cf1fcb51b446"


payload_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@given(
    action=st.from_regex(r"^[a-z][a-z_]{0,20}$", fullmatch=True).filter(lambda a: a not in PAYLOAD_MODELS),
    payload=st.dictionaries(st.text(min_size=1, max_size=12), payload_values, max_size=8),
)
def test_unknown_actions_become_gamestate_documents_and_never_raise(action: str, payload: dict[str, object]) -> None:
    doc = project(event(action, payload))
    expected = Category.SYMPOSIUM if action.startswith("symposium_") else Category.GAMESTATE
    assert doc.category is expected
    assert action.replace("_", " ") in doc.content
    assert doc.payload == payload


def test_the_embedded_text_leaves_out_the_timestamp_so_repeats_share_a_vector() -> None:
    first = project(event("scheduled_press_released", {"headline": "Ibarra walks out"}, game_time="Y57.D1"))
    later = project(
        GameEvent.model_validate(
            {"event_id": "e-2", "action": "scheduled_press_released", "occurred_at": "2025-04-01T10:00:00+00:00",
             "game_time": "Y58.D2", "payload": {"headline": "Ibarra walks out"}}
        )
    )  # fmt: skip
    assert first.embedding_text == later.embedding_text
    assert first.content != later.content and "2025-03-03" in first.content and "Y57.D1" in first.content
    assert "2025" not in first.embedding_text

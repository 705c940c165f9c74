"""Search on the dev season (a database written by the game itself): the judged query set is sound, a
player filter reaches the events of the player's conferences and expeditions, documents say what
coded values mean, and a row the game writes twice appears once among the hits."""

from __future__ import annotations

import functools
import re
from collections import Counter

from bench.judged import Judge, judged_set
from knowledge.embedder import FastembedEmbedder
from knowledge.projector import project
from knowledge.search import search, timeline
from knowledge.store.base import KnowledgeStore
from schemas.documents import DocumentBase
from schemas.events import GameEvent
from schemas.search import EntityKind, SearchRequest
from scripts.dev_season import DEV_SEASON, dev_season
from tests.knowledge.test_reads import put


@functools.cache
def season_documents() -> tuple[DocumentBase, ...]:
    """Every document of the dev season, read and projected once for the module's tests (read only)."""
    return tuple(project(e) for e in dev_season())


def test_the_judged_set_has_every_kind_and_each_query_has_relevant_events() -> None:
    documents = list(season_documents())
    judge, queries = Judge(documents), judged_set(documents)
    kinds = Counter(q.kind for q in queries)
    assert len(queries) >= 80 and kinds["meaning"] >= 30
    assert {"names", "codes", "meaning", "player", "time", "sentence"} <= set(kinds)
    assert sum(q.held_out for q in queries) >= 20, "a held-out part, reported apart"
    assert all(judge.relevant(q) for q in queries), [q.query for q in queries if not judge.relevant(q)]


def season_start() -> list[GameEvent]:
    """The season's first 300 actions and 40 press releases."""
    return [e for e in dev_season(300) if e.event_id.startswith("events:") or int(e.event_id.split(":")[1]) <= 40]


async def test_a_player_filter_reaches_a_conference_resolution_that_names_only_its_code(
    store: KnowledgeStore, embedder: FastembedEmbedder
) -> None:
    documents = [project(e) for e in season_start()]
    await put(store, embedder, documents)
    resolved = next(d for d in documents if d.event_id == "events:73")
    assert resolved.action == "conference_resolved" and resolved.player_ids == [] and resolved.expedition_code
    launched = next(
        d for d in documents if d.action == "conference_launched" and d.expedition_code == resolved.expedition_code
    )
    player = launched.player_ids[0]
    request = SearchRequest.model_validate(
        {"query": "conference results", "filters": {"player_id": player}, "top_k": 50}
    )
    hits = (await search(embedder, store, request)).hits
    assert "events:73" in {h.event_id for h in hits}
    assert all(player in h.document["player_ids"] or h.document["expedition_code"] for h in hits)
    story = await timeline(store, EntityKind.PLAYER, player, 500, None)
    assert "events:73" in {e.event_id for e in story.events}, "the player's timeline tells how it ended"


async def test_a_scholars_timeline_and_a_players_filter_reach_the_negotiation_over_the_scholar(
    store: KnowledgeStore, embedder: FastembedEmbedder
) -> None:
    """A negotiation's result names only offer ids; the bridge carries whose they are (`parties`), so the
    scholar's timeline tells how it ended, and a filter on the rival reaches it."""
    documents = [
        d for d in season_documents() if d.action in ("offer_created", "counter_offer_created", "negotiation_resolved")
    ]
    await put(store, embedder, documents)
    resolved = next(d for d in documents if d.event_id == "events:386")
    assert resolved.action == "negotiation_resolved" and resolved.scholar_ids == ["s.proc-021"]
    story = await timeline(store, EntityKind.SCHOLAR, "s.proc-021", 50, None)
    assert {"events:165", "events:179", "events:386"} <= {e.event_id for e in story.events}
    request = SearchRequest.model_validate(
        {"query": "how the negotiation ended", "filters": {"player_id": "lenka_h", "action": ["negotiation_resolved"]}}
    )
    hits = (await search(embedder, store, request)).hits
    assert "events:386" in {h.event_id for h in hits} and all("lenka_h" in h.document["player_ids"] for h in hits)


async def test_an_action_the_game_writes_twice_appears_once_among_the_hits(
    store: KnowledgeStore, embedder: FastembedEmbedder
) -> None:
    documents = [project(e) for e in season_start()]
    await put(store, embedder, documents)
    twice = [d for d in documents if d.action == "expedition_queued" and d.expedition_code == "TT-001"]
    assert len(twice) == 2 and twice[0].content == twice[1].content, "the game wrote it twice"
    request = SearchRequest.model_validate({"query": "TT-001 queued", "top_k": 10})
    hits = [h.event_id for h in (await search(embedder, store, request)).hits]
    assert len({d.event_id for d in twice} & set(hits)) == 1 and len(hits) == 10


def test_documents_say_what_coded_values_mean_and_name_their_thread() -> None:
    by_id = {e.event_id: project(e) for e in season_start()}
    retraction = by_id["press_releases:31"]
    assert retraction.expedition_code == "TT-001", "a press release's thread, from its headline"
    staked = next(d for d in by_id.values() if d.payload.get("confidence") == "stake_my_career")
    assert "staked their career" in staked.content
    refused = project(GameEvent.model_validate({
        "event_id": "e-1", "action": "defection_epilogue", "occurred_at": "2025-09-01T00:00:00Z",
        "payload": {"scholar": "s.proc-001", "scenario": "rivalry", "former_faction": "teodor",
                    "new_faction": "foreign"},
    }))  # fmt: skip
    assert "refused to leave teodor" in refused.content and "who left" not in refused.content


def test_a_defection_says_the_scholar_changed_sides_and_any_other_outcome_is_not_dressed_as_one() -> None:
    def content(outcome: str) -> str:  # (the schema refuses a missing or null outcome: the DLQ's)
        return project(GameEvent.model_validate({
            "event_id": "e-2", "action": "defection_evaluated", "occurred_at": "2025-09-01T00:00:00Z",
            "payload": {"scholar": "s.proc-027", "probability": 0.95, "roll": 0.13, "outcome": outcome,
                        "new_faction": "foreign"},
        })).content  # fmt: skip

    assert "defected: left their employer and changed sides, joining the foreign faction" in content("defected")
    stayed = content("stayed")  # an outcome this season never wrote
    assert "changed sides" not in stayed and "and stayed" not in stayed and "foreign faction: stayed (" in stayed


def test_a_negotiation_says_what_the_games_own_press_says_became_of_the_scholar() -> None:
    """The best offer accepted is the rival's (the scholar leaves) or the employer's counter-offer (the
    scholar stays): the game's press release about it ("Defects to ...", "Remains with ...", found by
    its `offer_id`) and the event's document agree, for every accepted negotiation of the season; a
    refused one is every offer refused, as the game's press says ("Rejects All Offers")."""
    documents = list(season_documents())
    press = {
        d.payload["metadata"]["offer_id"]: d.title
        for d in documents
        if d.subcategory == "negotiation_resolved" and (d.payload.get("metadata") or {}).get("offer_id") is not None
    }
    accepted = [d for d in documents if d.action == "negotiation_resolved" and d.payload["accepted"] is True]
    said: Counter[bool] = Counter()
    for d in accepted:
        headline = press[d.payload["best_offer"]]
        stayed = "Remains with" in headline
        assert stayed or "Defects to" in headline, headline
        assert ("the scholar stayed with their employer" in d.content) == stayed, (headline, d.content)
        assert ("the scholar changed sides" in d.content) != stayed, (headline, d.content)
        said[stayed] += 1
    assert said[True] and said[False], "the season has both: counter-offers and rivals' offers taken"
    refused = [d for d in documents if d.action == "negotiation_resolved" and d.payload["accepted"] is False]
    all_refused = [
        d.title
        for d in documents
        if d.action == "press_release"
        and d.subcategory == "negotiation_resolved"
        and d.payload["metadata"].get("all_rejected")
    ]
    assert refused and len(all_refused) == len(refused), (len(all_refused), len(refused))
    assert all("Rejects All Offers" in headline for headline in all_refused), all_refused
    assert all("all offers rejected" in d.title and "as were all offers" in d.content for d in refused)


def test_a_retraction_notice_claims_no_failure_the_game_did_not_report() -> None:
    """The game heads some landmark and partial outcomes as retraction notices (its catalogue lists all
    three outcomes): the document says the kind of release without calling the expedition failed."""
    notices = [d for d in season_documents() if d.subcategory == "retraction_notice"]
    outcomes = Counter(d.payload["metadata"]["outcome"] for d in notices)
    assert outcomes["failure"] and outcomes["landmark"] and outcomes["partial"], outcomes
    for d in notices:
        failed = d.payload["metadata"]["outcome"] == "failure"
        assert "Press release (retraction_notice: " in d.content
        assert failed or not re.search(r"\bfail(ed|ure)\b(?! detail)", d.content, re.IGNORECASE), d.content


def test_a_symposium_vote_and_result_say_what_the_option_asks_as_the_games_announcement_lists_it() -> None:
    """Every topic's announcement lists the options ("Option 2: Oppose the proposition"): each vote's
    and each result's document says the option's meaning in those words."""
    documents = list(season_documents())
    listed = {
        number: asked.lower()
        for d in documents
        if d.subcategory == "symposium_announcement"
        for number, asked in re.findall(r"Option (\d): ([^\n|]+?)\s*(?:\n|$)", d.payload.get("body") or "")
    }
    assert set(listed) == {"1", "2", "3"}, listed
    votes = [d for d in documents if d.action in ("symposium_vote", "symposium_resolved")]
    assert votes
    for d in votes:
        number = str(d.payload["vote_option" if d.action == "symposium_vote" else "winner"])
        assert f"option {number} (to {listed[number]})" in d.content, (listed[number], d.content)
        said = f"has concluded. Result: option {number} "  # the game's resolution: "has concluded. Result: ..."
        assert d.action == "symposium_vote" or said in d.content, d.content


def test_a_promotion_names_the_track_and_the_rank_the_games_mentorship_press_gives_it() -> None:
    """The game has two tracks of two ranks (academic: Fellow, Professor; industry: Director,
    Visionary). Its mentorship press at the moment of a promotion says the track ("progression"), and
    a "completion" (graduation) when the scholar reached the track's second, highest rank: each
    promotion's document names that track, and calls the rank the highest exactly then."""
    documents = list(season_documents())
    phases: dict[tuple[str, str, str], str] = {}
    for d in documents:
        metadata = d.payload.get("metadata") or {}
        if d.subcategory == "mentorship_update" and metadata.get("phase") in ("progression", "completion"):
            moment = metadata["scheduled"]["generated_at"]
            phases[(metadata["scholar"], moment, metadata["phase"])] = metadata["track"]
    promotions = [d for d in documents if d.action == "career_progression"]
    told: Counter[str] = Counter()
    for d in promotions:
        key = (d.payload["scholar"], d.occurred_at.isoformat())
        track = phases.get((*key, "progression"))
        if track is None:
            continue
        words = {"Academia": "academic", "Industry": "industry"}[track]
        graduated = (*key, "completion") in phases
        assert f"rank of the {words} track" in d.content, (track, d.content)
        assert ("second and highest rank" in d.content) == graduated, (graduated, d.content)
        assert graduated or "the first rank" in d.content, d.content
        told[f"{track} {graduated}"] += 1
    assert len(told) == 4 and sum(told.values()) >= len(promotions) - 2, told


def test_a_reprimand_says_the_debt_the_games_press_says_and_no_missed_symposium() -> None:
    """A symposium reprimand is the game's reprisal over a debt a player owes a faction: its press says
    "Outstanding debt: N", and the dev season's first reprimand comes before any symposium. Each
    reprimand's document says that debt and claims no symposium was missed."""
    documents = list(season_documents())
    debts = {
        (m["player_id"], m["faction"], m["reprisal_level"]): d.payload.get("body") or ""
        for d in documents
        if d.subcategory == "symposium_reprimand" and (m := d.payload.get("metadata") or {})
    }
    reprimands = sorted((d for d in documents if d.action == "symposium_reprimand"), key=lambda d: d.occurred_at)
    first_symposium = min(d.occurred_at for d in documents if d.action == "symposium_started")
    assert reprimands and reprimands[0].occurred_at < first_symposium
    for d in reprimands:
        p = d.payload
        body = debts[(p["player"], p["faction"], p["reprisal_level"])]
        assert f"Outstanding debt: {p['remaining']}." in body, body
        assert f"outstanding debt {p['remaining']}" in d.content, d.content
        assert not re.search(r"skip|miss|absen|turn(ed)? up", d.content, re.IGNORECASE), d.content


def test_no_document_of_the_season_calls_a_value_unknown_or_misses_its_article() -> None:
    """A topic the game set itself has no proposal (the dev season's first symposium): its vote, opening
    and result say so rather than "proposal #unknown"; a sideways order's press item is a press release
    of a named kind ("a press release (academic_bulletin: ...)"), not "a academic_bulletin item"."""
    for d in season_documents():
        assert "unknown" not in d.content, d.content
        ours = d.content if d.action != "press_release" else ""  # (the game's own text says "a unified")
        assert not re.search(r"\ba [aeiou]", ours), d.content


CATALOGUE = DEV_SEASON.parent.parent / "great-work-event-catalogue.md"


@functools.cache
def catalogue_section(heading: str) -> str:
    """The event catalogue (written from the game's own data) from `heading` on, read once."""
    return CATALOGUE.read_text().split(heading, 1)[1]


def catalogue_values(action: str, field: str) -> list[str]:
    """The values the event catalogue lists for `field` of `action`: `one of: 'a', 'b'`."""
    line = next(x for x in catalogue_section("## Events").splitlines() if x.startswith(f"- `{action}` "))
    listed = re.search(rf"`{field}` [^;]*?one of: ((?:'[^']*'(?:, )?)+)", line)
    assert listed, f"the catalogue lists no values for {action}.{field}"
    return re.findall(r"'([^']*)'", listed.group(1))


CODED = [  # (action, field, the payload's other fields): each coded value the catalogue lists
    ("launch_expedition", "type", {"code": "FD-001", "player": "p.ada"}),
    ("launch_expedition", "prep_depth", {"code": "FD-001", "player": "p.ada"}),
    ("launch_expedition", "confidence", {"code": "FD-001", "player": "p.ada"}),
    ("expedition_queued", "expedition_type", {"code": "FD-001", "player_id": "p.ada"}),
    ("expedition_resolved", "result", {"code": "FD-001", "player": "p.ada"}),
    ("conference_resolved", "outcome", {"code": "CONF-1"}),
    ("career_progression", "new_tier", {"scholar": "s.okafor"}),
    ("followup_resolved", "kind", {"scholar": "s.okafor"}),
    ("sidecast_followup", "arc", {"scholar": "s.okafor", "phase": "debut"}),
    ("sidecast_followup", "phase", {"scholar": "s.okafor", "arc": "local_junior"}),
    ("lab_assigned", "career_track", {"scholar": "s.okafor", "player": "p.ada"}),
    ("symposium_vote_reminder", "reminder_level", {"player": "p.ada", "topic_id": 1}),
    ("scholar_spawned", "origin", {"id": "s.proc-001", "name": "Dr Ada Okafor"}),
]


def test_every_coded_value_the_catalogue_lists_is_written_with_its_meaning() -> None:
    for action, field, others in CODED:
        values = catalogue_values(action, field)
        for value in values:
            content = project(GameEvent.model_validate({
                "event_id": "e-1", "action": action, "occurred_at": "2025-09-01T00:00:00Z",
                "payload": {**others, field: value},
            })).content  # fmt: skip
            meant = re.search(rf"{re.escape(value)}[:,]? (\(?[a-z][^;.)]*)", content)
            assert meant, f"{action}.{field} = {value!r} is not explained: {content}"


def test_every_kind_of_press_the_catalogue_lists_says_what_it_is() -> None:
    kinds = re.findall(r"^- `([a-z_]+)` ", catalogue_section("## Press releases"), re.MULTILINE)
    assert len(kinds) > 40
    for kind in kinds:
        document = project(GameEvent.model_validate({
            "event_id": "press_releases:1", "action": "press_release", "occurred_at": "2025-09-01T00:00:00Z",
            "payload": {"type": kind, "headline": "A headline", "body": "A body."},
        }))  # fmt: skip
        assert f"Press release ({kind}: " in document.content, (kind, document.content)


def test_a_sidecast_is_a_new_scholar_met_on_an_expedition_never_one_taken_off_its_team() -> None:
    """The game's data says so: every sidecast scholar of the dev season is a new id, in no team of the
    expedition it came from, and their press says they "fell in with" it."""
    documents = list(season_documents())
    teams = {d.expedition_code: set(d.payload.get("team") or []) for d in documents if d.action == "launch_expedition"}
    sidecasts = [d for d in documents if d.action == "scholar_sidecast"]
    assert sidecasts and all(d.payload["scholar"] not in teams.get(d.payload["expedition"], set()) for d in sidecasts)
    for d in sidecasts + [d for d in documents if d.action == "sidecast_followup"]:
        assert "came into the game through" in d.content and "taken off" not in d.content, d.content


def test_no_press_release_keeps_a_blank_that_its_own_metadata_can_fill() -> None:
    """The game leaves blanks in some headlines ("Table Talk Digest — {speaker}") and carries the value
    in the release's metadata; the document fills them (knowledge/rendering.py `filled`)."""
    documents = list(season_documents())
    press = [d for d in documents if d.action == "press_release"]
    fillable = [
        (d.event_id, blank)
        for d in press
        for blank in re.findall(r"\{(\w+)\}", d.embedding_text)
        if isinstance((d.payload.get("metadata") or {}).get(blank), str)
    ]
    assert press and not fillable, fillable[:5]
    assert any("Table Talk Digest — " in d.title and "{" not in d.title for d in press)


async def test_a_query_gets_the_events_first_unless_it_asks_for_the_news(
    store: KnowledgeStore, embedder: FastembedEmbedder
) -> None:
    """An event and the press release about it lie close in the model's space: the query's words say
    which is wanted (the game master's grants of influence, and the admin press releases about them)."""
    documents = [project(e) for e in season_start()]
    await put(store, embedder, documents)

    async def first_five(query: str) -> list[str]:
        hits = (await search(embedder, store, SearchRequest.model_validate({"query": query, "top_k": 5}))).hits
        return [h.document["subcategory"] for h in hits]

    assert set(await first_five("influence the game master granted to players")) == {"admin_influence_adjustment"}
    assert set(await first_five("news of the influence the game master granted to players")) == {"admin_action"}

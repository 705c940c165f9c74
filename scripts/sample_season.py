"""A deterministic season of Great Work-like events: every action and press type of the game's catalogue,
with its payload fields spelled as the game spells them, in roughly a real season's proportions.

`season(n, seed)` gives the same events for the same arguments, fast enough for 100k events.
Used by the local run (scripts/produce.py), the tests and the benchmarks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.events import entity_key

PLAYERS = ["p.ada", "p.brunel", "p.curie", "p.darwin", "p.euler", "p.faraday", "p.galton", "p.hypatia"]
SURNAMES = [
    "ibarra",
    "okafor",
    "lindqvist",
    "moreau",
    "tanaka",
    "vasquez",
    "whitcombe",
    "zeller",
    "abernathy",
    "castellanos",
    "delacroix",
    "fairweather",
    "halloran",
    "kowalczyk",
    "marchetti",
    "nakamura",
    "oyelaran",
    "petrakis",
    "quesnel",
    "rasmussen",
    "sandoval",
    "thornbury",
    "umarov",
    "valentini",
    "wexford",
]
FACTIONS = ["academia", "foreign", "government", "industry", "religion"]
CONFIDENCE = ["certain", "stake_my_career", "suspect"]
EXPEDITION_TYPES = ["field", "great_project", "think_tank"]
PLACES = [
    "the Carnac stone rows",
    "the Atacama salt flats",
    "the sunken harbour of Pavlopetri",
    "the Tassili caves",
    "the Orkney brochs",
    "the Dead Sea scroll caves",
    "the Nazca plateau",
    "the Siberian permafrost",
    "the Antikythera wreck",
    "the Göbekli Tepe enclosures",
    "the Skara Brae village",
    "the Olduvai gorge",
]
SUBJECTS = [
    "the ley lines",
    "a Bronze Age calendar",
    "ancient trade routes",
    "the origin of writing",
    "glacial climate records",
    "a lost astronomical instrument",
    "early metallurgy",
    "burial rites",
    "the spread of agriculture",
    "tidal engineering",
    "pigment chemistry",
    "migratory star charts",
]
THEORIES = [
    "The stone rows encode a lunar calendar",
    "Writing began as an accounting tool for grain",
    "Bronze Age traders crossed the Atlantic",
    "Glacial cores prove a medieval warm period",
    "The Antikythera mechanism predicted eclipses",
    "Pigments reveal a forgotten pigment trade",
    "Tidal mills predate Roman engineering",
    "Migratory birds guided early navigators",
]
TOPICS = [
    "Should the Academy fund great projects over field work?",
    "Is peer review a guild privilege?",
    "Must expedition finds stay in their country of origin?",
    "Should theories carry a confidence wager?",
    "Is industry sponsorship compromising research?",
    "Should the archive open to the public?",
    "Do foreign patrons deserve voting rights?",
    "Should retractions cost reputation?",
]
GOSSIP = [
    "whispers in the senior common room suggest {s} is weighing an offer from {f} patrons",
    "{p} was seen dining with {s} twice this week, and the faculty is talking",
    "a rival lab claims {s}'s latest results cannot be reproduced",
    "{s} walked out of a seminar after a heated exchange with {p}",
    "the archive's night porter reports {s} working until dawn on {x}",
]
TABLE_TALK = [
    "Anyone else think the {x} dig is a money pit?",
    "I will stake my career on {x}.",
    "Congratulations to {p} on the landmark find!",
    "The symposium vote was rigged, frankly.",
    "Looking for a partner to fund a think tank on {x}.",
]

# (action, weight): the catalogue's shares, rounded; press releases are mixed in separately.
_WEIGHTS: list[tuple[str, float]] = [
    ("press_scheduled", 12.0),
    ("scheduled_press_released", 12.0),
    ("expedition_queued", 5.5),
    ("launch_expedition", 2.7),
    ("expedition_resolved", 2.7),
    ("table_talk_post", 1.9),
    ("submit_theory", 1.5),
    ("digest_highlights_generated", 1.2),
    ("career_progression", 1.2),
    ("conference_launched", 1.2),
    ("conference_resolved", 1.2),
    ("recruitment_attempt", 1.2),
    ("mentorship_queued", 1.0),
    ("symposium_vote_reminder", 1.0),
    ("mentorship_activated", 0.9),
    ("press_shared", 0.8),
    ("followup_resolved", 0.7),
    ("offer_created", 0.7),
    ("negotiation_resolved", 0.6),
    ("timeline_advanced", 0.6),
    ("faction_investment", 0.6),
    ("counter_offer_created", 0.6),
    ("symposium_vote", 0.5),
    ("admin_reputation_adjustment", 0.5),
    ("nickname_adopted", 0.5),
    ("symposium_proposal_submitted", 0.3),
    ("archive_endowment", 0.3),
    ("sidecast_followup", 0.3),
    ("symposium_reprimand", 0.3),
    ("admin_influence_adjustment", 0.2),
    ("sideways_order_scheduled", 0.2),
    ("scholar_spawned", 0.2),
    ("lab_assigned", 0.2),
    ("sideways_press_scheduled", 0.1),
    ("scholar_sidecast", 0.1),
    ("symposium_started", 0.1),
    ("symposium_resolved", 0.1),
    ("admin_create_faction_project", 0.1),
    ("defection_epilogue", 0.1),
    ("admin_create_seasonal_commitment", 0.1),
    ("admin_cancel_expedition", 0.1),
    ("admin_update_seasonal_commitment", 0.1),
    ("admin_cancel_order", 0.1),
    ("defection_evaluated", 0.1),
    ("admin_force_defection", 0.1),
    ("game_paused", 0.1),
    ("game_resumed", 0.1),
    ("admin_update_faction_project", 0.1),
    ("scholar_retired", 0.1),
    ("press_release", 45.0),
]

PRESS_TYPES = [
    "academic_gossip",
    "mentorship_update",
    "seasonal_commitment_update",
    "research_manifesto",
    "retraction_notice",
    "table_talk_digest",
    "discovery_report",
    "academic_bulletin",
    "faction_statement",
    "faction_shift",
    "recruitment_report",
    "defection_notice",
    "symposium_announcement",
    "landmark_preparation",
    "timeline_update",
]


class _Season:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.expedition_no = 0
        self.conference_no = 1000
        self.offer_no = 0
        self.year = 1921

    def scholar(self) -> str:
        return "s." + self.r.choice(SURNAMES)

    def player(self) -> str:
        return self.r.choice(PLAYERS)

    def code(self, new: bool = False) -> str:
        if new or self.expedition_no == 0:
            self.expedition_no += 1
        n = self.r.randint(max(1, self.expedition_no - 3), self.expedition_no) if not new else self.expedition_no
        return f"{'TT' if n % 4 == 0 else 'FD'}-{n:03d}"

    def objective(self) -> str:
        return f"Survey {self.r.choice(PLACES)} for evidence of {self.r.choice(SUBJECTS)}"

    def team(self) -> list[str]:
        return self.r.sample(["s." + s for s in SURNAMES], self.r.randint(2, 4))

    def gossip(self) -> str:
        return self.r.choice(GOSSIP).format(
            s=self.scholar()[2:].title(),
            p=self.player(),
            f=self.r.choice(FACTIONS),
            x=self.r.choice(SUBJECTS),
        )

    def payload(self, action: str) -> dict[str, Any]:
        maker: Callable[[], dict[str, Any]] | None = getattr(self, "_" + action, None)
        if maker is not None:
            return maker()
        return {"admin": "admin.gm", "reason": "Season agenda"}

    # --- one method per action, named for it ---
    def _press_scheduled(self) -> dict[str, Any]:
        return {
            "headline": self.gossip().capitalize(),
            "release_at": "2025-03-03T14:19:56+00:00",
            "layer_type": "academic_gossip",
        }

    def _scheduled_press_released(self) -> dict[str, Any]:
        return {"headline": self.gossip().capitalize(), "release_at": "2025-03-03T14:19:56+00:00"}

    def _expedition_queued(self) -> dict[str, Any]:
        return {
            "code": self.code(new=True),
            "player_id": self.player(),
            "expedition_type": self.r.choice(EXPEDITION_TYPES),
            "objective": self.objective(),
            "team": self.team(),
            "funding": [self.r.choice(FACTIONS)],
        }

    def _launch_expedition(self) -> dict[str, Any]:
        return {
            "code": self.code(),
            "player": self.player(),
            "type": self.r.choice(EXPEDITION_TYPES),
            "objective": self.objective(),
            "team": self.team(),
            "funding": [self.r.choice(FACTIONS)],
            "prep_depth": self.r.choice(["deep", "shallow"]),
            "confidence": self.r.choice(CONFIDENCE),
        }

    def _expedition_resolved(self) -> dict[str, Any]:
        roll, modifier = self.r.randint(2, 100), self.r.randint(-22, 21)
        final = roll + modifier
        result = "landmark" if final > 95 else "success" if final > 60 else "partial" if final > 35 else "failure"
        delta = {"landmark": 15, "success": 5, "partial": 0, "failure": -10}[result]
        return {
            "code": self.code(),
            "player": self.player(),
            "type": self.r.choice(EXPEDITION_TYPES),
            "result": result,
            "roll": roll,
            "modifier": modifier,
            "final": final,
            "confidence": self.r.choice(CONFIDENCE),
            "reputation_delta": delta,
            "reputation_after": self.r.randint(-36, 50),
        }

    def _table_talk_post(self) -> dict[str, Any]:
        p = self.player()
        return {
            "player": p,
            "display_name": p[2:].title(),
            "message": self.r.choice(TABLE_TALK).format(x=self.r.choice(SUBJECTS), p=self.player()),
        }

    def _submit_theory(self) -> dict[str, Any]:
        return {
            "player": self.player(),
            "theory": self.r.choice(THEORIES),
            "confidence": self.r.choice(CONFIDENCE),
            "supporters": self.r.sample(PLAYERS, 2),
            "deadline": "2025-03-08",
        }

    def _digest_highlights_generated(self) -> dict[str, Any]:
        return {"headline": "This week in the Academy: " + self.r.choice(SUBJECTS), "item_count": 5}

    def _career_progression(self) -> dict[str, Any]:
        return {
            "scholar": self.scholar(),
            "new_tier": self.r.choice(["Director", "Fellow", "Professor", "Visionary"]),
            "mentor": self.player(),
        }

    def _conference_launched(self) -> dict[str, Any]:
        self.conference_no += 1
        sup, opp = self.r.sample(PLAYERS, 2), self.r.sample(PLAYERS, 1)
        return {
            "code": f"CONF-{self.conference_no}",
            "player": self.player(),
            "theory_id": self.r.randint(1, 245),
            "confidence": self.r.choice(CONFIDENCE),
            "supporters": sup,
            "opposition": opp,
            "supporter_names": [p[2:].title() for p in sup],
            "opposition_names": [p[2:].title() for p in opp],
        }

    def _conference_resolved(self) -> dict[str, Any]:
        return {
            "code": f"CONF-{max(1001, self.conference_no)}",
            "outcome": self.r.choice(["failure", "partial", "success"]),
            "reputation_delta": self.r.randint(-25, 15),
            "final_roll": self.r.randint(-13, 110),
        }

    def _recruitment_attempt(self) -> dict[str, Any]:
        return {
            "player": self.player(),
            "scholar": self.scholar(),
            "faction": self.r.choice(FACTIONS),
            "chance": round(self.r.uniform(0.24, 0.95), 2),
            "success": self.r.random() < 0.5,
            "cooldown_penalty": 1.0,
            "influence_bonus": round(self.r.uniform(0, 1.35), 2),
            "relationship": {},
        }

    def _mentorship_queued(self) -> dict[str, Any]:
        return {
            "player": self.player(),
            "scholar": self.scholar(),
            "career_track": self.r.choice([None, "Academia", "Industry"]),
            "mentorship_id": self.r.randint(1, 95),
        }

    def _symposium_vote_reminder(self) -> dict[str, Any]:
        return {
            "topic_id": self.r.randint(1, 8),
            "player": self.player(),
            "reminder_level": self.r.choice(["escalation", "first"]),
            "pledge_amount": self.r.randint(2, 4),
        }

    def _mentorship_activated(self) -> dict[str, Any]:
        return {"player": self.player(), "scholar": self.scholar(), "mentorship_id": self.r.randint(1, 93)}

    def _press_shared(self) -> dict[str, Any]:
        return {
            "player_id": self.player(),
            "press_id": self.r.randint(191, 6672),
            "headline": self.gossip().capitalize(),
        }

    def _followup_resolved(self) -> dict[str, Any]:
        kind = self.r.choice(["dignitary_contract", "industrial_contract", "logistics_resupply", "recruitment_grudge"])
        return {"scholar": self.scholar(), "kind": kind, "order_id": self.r.randint(10, 587)}

    def _offer_created(self) -> dict[str, Any]:
        self.offer_no += 1
        return {
            "offer_id": self.offer_no,
            "rival": self.player(),
            "scholar": self.scholar(),
            "influence": {self.r.choice(FACTIONS): self.r.randint(1, 6)},
            "relationship_snapshot": {},
        }

    def _negotiation_resolved(self) -> dict[str, Any]:
        return {
            "offer_chain": [max(1, self.offer_no - 1), self.offer_no + 1],
            "best_offer": self.offer_no + 1,
            "probability": round(self.r.uniform(0.05, 0.95), 2),
            "roll": round(self.r.random(), 4),
            "accepted": self.r.random() < 0.4,
            "relationship_rival": {},
            "relationship_patron": {},
        }

    def _timeline_advanced(self) -> dict[str, Any]:
        self.year += 1
        return {"current_year": self.year, "years_elapsed": 1}

    def _faction_investment(self) -> dict[str, Any]:
        amount = self.r.randint(3, 27)
        return {
            "player": self.player(),
            "faction": self.r.choice(FACTIONS),
            "amount": amount,
            "program": self.r.choice([None, "field_schools", "lab_equipment"]),
            "total": amount + self.r.randint(0, 3),
        }

    def _counter_offer_created(self) -> dict[str, Any]:
        return {
            "counter_offer_id": self.offer_no + 1,
            "original_offer_id": max(1, self.offer_no),
            "patron": self.player(),
            "influence": {self.r.choice(FACTIONS): self.r.randint(1, 6)},
            "relationship_snapshot": {},
        }

    def _symposium_vote(self) -> dict[str, Any]:
        return {
            "player": self.player(),
            "topic_id": self.r.randint(1, 8),
            "vote_option": self.r.randint(1, 3),
            "proposal_id": self.r.randint(7, 30),
            "pledge_status": "fulfilled",
        }

    def _admin_reputation_adjustment(self) -> dict[str, Any]:
        old, delta = self.r.randint(-50, 40), self.r.randint(-5, 10)
        return {
            "admin": "admin.gm",
            "player": self.player(),
            "delta": delta,
            "old": old,
            "new": old + delta,
            "reason": "Compensation for a lost expedition report",
        }

    def _nickname_adopted(self) -> dict[str, Any]:
        return {
            "player_id": self.player(),
            "scholar_id": self.scholar(),
            "nickname": self.r.choice(["the Owl", "Old Flint", "the Cartographer", "Stormy"]),
        }

    def _symposium_proposal_submitted(self) -> dict[str, Any]:
        return {
            "proposal_id": self.r.randint(1, 33),
            "player": self.player(),
            "topic": self.r.choice(TOPICS),
            "expires_at": "2025-03-31T09:08:07+00:00",
        }

    def _archive_endowment(self) -> dict[str, Any]:
        return {
            "player": self.player(),
            "faction": self.r.choice(FACTIONS),
            "amount": self.r.randint(4, 11),
            "program": None,
            "paid_debt": self.r.randint(0, 4),
            "reputation_gain": 0,
        }

    def _sidecast_followup(self) -> dict[str, Any]:
        return {
            "scholar": self.scholar(),
            "arc": self.r.choice(["archive_ghost", "local_junior"]),
            "phase": self.r.choice(["debut", "integration", "spotlight"]),
            "sponsor": self.player(),
        }

    def _symposium_reprimand(self) -> dict[str, Any]:
        return {
            "player": self.player(),
            "faction": self.r.choice(FACTIONS[:4]),
            "reprisal_level": self.r.randint(1, 4),
            "remaining": self.r.randint(4, 137),
        }

    def _admin_influence_adjustment(self) -> dict[str, Any]:
        delta = self.r.randint(3, 6)
        return {
            "admin": "admin.gm",
            "player": self.player(),
            "faction": self.r.choice(FACTIONS),
            "delta": delta,
            "old": 0,
            "new": delta,
            "reason": "Faction stipend for the new season",
        }

    def _sideways_order_scheduled(self) -> dict[str, Any]:
        return {
            "order_code": f"TT-{self.r.randint(1, 30):03d}",
            "order_type": "press_highlight",
            "delay_minutes": 45,
        }

    def _scholar_spawned(self) -> dict[str, Any]:
        n = self.r.randint(1, 999)
        return {
            "id": f"s.proc-{n:03d}",
            "name": f"Dr. {self.r.choice(SURNAMES).title()}",
            "origin": "roster_fill",
        }

    def _lab_assigned(self) -> dict[str, Any]:
        new = self.r.choice(["Academia", "Industry"])
        return {
            "player": self.player(),
            "scholar": self.scholar(),
            "career_track": new,
            "old_track": "Industry" if new == "Academia" else "Academia",
        }

    def _sideways_press_scheduled(self) -> dict[str, Any]:
        return {
            "order_code": f"TT-{self.r.randint(1, 30):03d}",
            "headline": "Think tank bulletin: " + self.r.choice(SUBJECTS),
            "delay_minutes": 180,
            "type": "academic_bulletin",
        }

    def _scholar_sidecast(self) -> dict[str, Any]:
        return {"scholar": self.scholar(), "expedition": self.code()}

    def _symposium_started(self) -> dict[str, Any]:
        return {
            "topic_id": self.r.randint(1, 8),
            "topic": self.r.choice(TOPICS),
            "proposal_id": self.r.randint(7, 30),
            "pledges": {p: 2 for p in self.r.sample(PLAYERS, 3)},
        }

    def _symposium_resolved(self) -> dict[str, Any]:
        return {
            "topic_id": self.r.randint(1, 8),
            "winner": self.r.choice(["1", "2", "3"]),
            "votes": {"1": self.r.randint(0, 5), "2": self.r.randint(0, 5), "3": self.r.randint(0, 5)},
            "proposal_id": self.r.randint(7, 30),
            "non_voters": self.r.sample(PLAYERS, 1),
            "penalties": [],
        }

    def _admin_create_faction_project(self) -> dict[str, Any]:
        return {
            "admin": "admin.gm",
            "project_id": self.r.randint(1, 4),
            "name": "The Great Telescope",
            "faction": "government",
            "target_progress": 10.0,
            "reason": "Season agenda",
        }

    def _defection_epilogue(self) -> dict[str, Any]:
        return {
            "scholar": self.scholar(),
            "scenario": "reconciliation",
            "former_faction": self.player()[2:].title(),
            "new_faction": self.r.choice(["foreign", "government", "religion"]),
        }

    def _admin_create_seasonal_commitment(self) -> dict[str, Any]:
        return {
            "admin": "admin.gm",
            "player": self.player(),
            "faction": "academia",
            "tier": None,
            "commitment_id": self.r.randint(5, 6),
            "reason": "Negotiated seasonal pact",
        }

    def _admin_cancel_expedition(self) -> dict[str, Any]:
        return {
            "admin": "admin.gm",
            "expedition_code": self.code(),
            "reason": "Permit revoked by the site authority",
        }

    def _admin_update_seasonal_commitment(self) -> dict[str, Any]:
        return {
            "admin": "admin.gm",
            "commitment_id": self.r.randint(6, 8),
            "status": self.r.choice(["cancelled", "completed"]),
            "reason": "Council review",
        }

    def _admin_cancel_order(self) -> dict[str, Any]:
        return {
            "id": 84,
            "order_type": "press_highlight",
            "actor_id": self.player(),
            "subject_id": self.player(),
            "reason": "Duplicate order filed",
            "timestamp": "2025-03-20T07:30:00+00:00",
        }

    def _defection_evaluated(self) -> dict[str, Any]:
        return {
            "scholar": self.scholar(),
            "probability": 0.95,
            "roll": 0.132,
            "outcome": "defected",
            "new_faction": "foreign",
        }

    def _admin_force_defection(self) -> dict[str, Any]:
        return {
            "admin": "admin.gm",
            "scholar": self.scholar(),
            "new_faction": "foreign",
            "reason": "Storyline: the embassy affair",
        }

    def _game_paused(self) -> dict[str, Any]:
        return {
            "admin": "admin.gm",
            "reason": "Server maintenance",
            "source": "manual",
            "previously_paused": False,
            "previous_source": None,
        }

    def _game_resumed(self) -> dict[str, Any]:
        return {"admin": "admin.gm", "was_paused": True, "previous_reason": "Server maintenance"}

    def _scholar_retired(self) -> dict[str, Any]:
        return {"scholar": self.scholar(), "reason": self.r.choice(["Ill health", "A chair abroad", "Scandal"])}

    def _admin_update_faction_project(self) -> dict[str, Any]:
        return {"admin": "admin.gm", "project_id": 4, "status": "cancelled", "reason": "Budget cut"}

    def _press_release(self) -> dict[str, Any]:
        kind = self.r.choice(PRESS_TYPES)
        s, p, code = self.scholar(), self.player(), self.code()
        name = s[2:].title()
        headline, body, metadata = {
            "academic_gossip": (f"Gossip: {name} and {p}", self.gossip().capitalize() + ".", {}),
            "mentorship_update": (
                f"{name} begins mentorship under {p}",
                f"{name} has begun a mentorship with {p} on the Academia track.",
                {"phase": "activation", "mentor": p, "scholar": s, "track": "Academia"},
            ),
            "seasonal_commitment_update": (
                "Seasonal pact renewed",
                f"{p} renewed a seasonal pact.",
                {"commitment": {}},
            ),
            "research_manifesto": (
                f"{p} publishes a manifesto on {self.r.choice(SUBJECTS)}",
                f"In a sweeping manifesto, {p} argues that {self.r.choice(THEORIES).lower()}.",
                {},
            ),
            "retraction_notice": (
                f"Retraction: {code} findings withdrawn",
                f"The findings of expedition {code} were retracted after {name} found errors.",
                {"outcome": "failure"},
            ),
            "table_talk_digest": (
                "Table talk digest",
                f"{p[2:].title()} said: "
                + self.r.choice(TABLE_TALK).format(x=self.r.choice(SUBJECTS), p=self.player()),
                {"speaker": p[2:].title()},
            ),
            "discovery_report": (
                f"Discovery at {self.r.choice(PLACES)}",
                f"Expedition {code} led by {p} reports evidence of {self.r.choice(SUBJECTS)}; "
                f"{name} calls it the find of the decade.",
                {"outcome": "landmark"},
            ),
            "academic_bulletin": (
                f"Bulletin: think tank on {self.r.choice(SUBJECTS)}",
                f"A think tank convened by {p} circulated preliminary notes.",
                {"order_code": f"TT-{self.r.randint(1, 30):03d}", "expedition_type": "think_tank"},
            ),
            "faction_statement": (
                f"The {self.r.choice(FACTIONS)} faction speaks",
                f"A faction spokesperson praised {p} and warned rivals.",
                {},
            ),
            "faction_shift": (
                f"{p} gains favour",
                f"{p} gained standing with the Industry faction.",
                {"player": p, "faction": "Industry", "change": 2},
            ),
            "recruitment_report": (
                f"{p} recruits {name}",
                f"{name} accepted a post in {p}'s lab.",
                {"player": p, "scholar": s, "faction": "academia", "chance": 0.6},
            ),
            "defection_notice": (
                f"{name} defects!",
                f"{name} has left {p} for a foreign patron, citing mistreatment.",
                {"former_employer": p, "new_faction": "foreign", "probability": 0.95},
            ),
            "symposium_announcement": (
                "Symposium announced",
                f"The Academy will debate: {self.r.choice(TOPICS)}",
                {"topic_id": self.r.randint(1, 8), "topic": self.r.choice(TOPICS)},
            ),
            "landmark_preparation": (
                f"{code} prepares for a landmark attempt",
                f"The team of {code}, including {name}, finished deep preparation.",
                {"expedition_code": code, "prep_depth": "deep", "team": self.team()},
            ),
            "timeline_update": (
                f"The year turns to {self.year}",
                f"The calendar advances to {self.year}.",
                {"current_year": self.year, "years_elapsed": 1},
            ),
        }[kind]
        return {"type": kind, "headline": headline, "body": body, "metadata": metadata}


def season(n: int, seed: int = 7, start: datetime | None = None) -> Iterator[dict[str, Any]]:
    """`n` event envelopes (JSON-ready dicts) in time order; the same for the same arguments."""
    state = _Season(seed)
    actions = [a for a, _ in _WEIGHTS]
    weights = [w for _, w in _WEIGHTS]
    when = start or datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    for i in range(n):
        when += timedelta(seconds=state.r.randint(20, 600))
        action = state.r.choices(actions, weights)[0]
        day = (when - (start or datetime(2025, 3, 1, 9, 0, tzinfo=UTC))).days
        yield {
            "event_id": f"evt-{seed}-{i:06d}",
            "schema_version": 1,
            "action": action,
            "occurred_at": when.isoformat(),
            "game_time": f"Y{57 + day // 30}.D{1 + day % 30}",
            "payload": state.payload(action),
        }


def key_of(event: dict[str, Any]) -> str:
    """The Kafka key: the entity the event is about, so its events stay in order on one partition."""
    return entity_key(event["payload"]) or str(event["action"])

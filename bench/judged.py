"""The judged query set on real data: the dev season (`../shared/dev-season/great_work.db`, written by
the game itself), with relevance derived mechanically from the documents by a rule written beside each
query, so anyone can check a judgement.

A rule is a dict; every key given must hold (AND):
- `action`: the event's action is one of these; `press`: a press release of one of these types;
- `payload`: each field of the payload equals the value (or one of the values);
- `text`: the regular expression matches the title or the content (case-insensitive);
- `taken`: a negotiation's outcome by whose offer the scholar took: `rival` (the first offer of its
  `offer_chain`, the rival's own), `counter` (a later one: the employer's counter-offer, so the scholar
  stayed), `none` (every offer refused); a best offer outside its chain is neither;
- `player` / `scholar`: the event names this id; `thread_of`: the event names the player, or carries
  the code of an expedition or conference whose events name the player;
- `any`: at least one of these rules holds.
A query's own filters apply too: a hit outside them is not relevant.

Kinds: `names` and `codes` are sampled from the season by a seeded draw (scholars' names, nicknames,
expedition and conference codes), never chosen by hand, so no season's names are tuned to; `meaning`
(what happened, in other words than the documents'), `player` (with a `player_id` filter), `time` (with
`occurred_after/before`) and `sentence` (full questions, as agents ask) are written by hand.

Held out: every third hand-written query (`held_out=True`), written with the others before any result
was seen, and never tuned on; a second batch (`FRESH`, `batch="fresh"`), written later from the
catalogue and the season's counts of each action alone, before any of its results was seen (the first
batch's held-out figures had by then been looked at beside the tuned ones while fusion weights were
compared); and a third (`THIRD`, `batch="third"`), written the same way once the fresh batch's
figures had been seen (semantic mode beat the default there); and a fourth (`FOURTH`, `batch="fourth"`),
written the same way once all three had been seen as wholes, before the changes it judges; and a fifth
(`FIFTH`, `batch="fifth"`) of one player's events only, every other one held out, so that the kind has
enough tuned queries to choose anything on; and a sixth (`SIXTH`, `batch="sixth"`), written the same
way once every batch before it had been seen, to measure the search as it stands; and a seventh
(`SEVENTH`, `batch="seventh"`), written the same way once the sixth had been seen, before the change it
judges (every coded value and kind of press release given its meaning in words); and an eighth
(`EIGHTH`, `batch="eighth"`), written the same way once the seventh had judged that change, before
the next one; and a ninth (`NINTH`, `batch="ninth"`), a tenth (`TENTH`, `batch="tenth"`), an
eleventh (`ELEVENTH`, `batch="eleventh"`), a twelfth (`TWELFTH`, `batch="twelfth"`), a thirteenth
(`THIRTEENTH`, `batch="thirteenth"`), a fourteenth (`FOURTEENTH`, `batch="fourteenth"`), a fifteenth
(`FIFTEENTH`, `batch="fifteenth"`), a sixteenth (`SIXTEENTH`, `batch="sixteenth"`) and a seventeenth
(`SEVENTEENTH`, `batch="seventeenth"`), each written
the same way once the batch before it had judged its change. `bench.quality`
reports each apart, and every kind's held-out queries apart. The figures that count are the held-out
ones, the latest batch's most.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from schemas.documents import DocumentBase

Rule = dict[str, Any]
#: Which hand-written batch a query is of (`Judged.batch`).
Batch = Literal[
    "first",
    "fresh",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
]
#: Queries written by hand: (kind, query, rule, filters).
Written = list[tuple[str, str, Rule, dict[str, str]]]


@dataclass(frozen=True)
class Judged:
    kind: str
    query: str
    rule: Rule
    filters: dict[str, str] = field(default_factory=dict)
    held_out: bool = False
    #: The batch it was written in: `first` (`WRITTEN`), `fresh` (`FRESH`, written after the first's
    #: held-out part was spent) or `third` (`THIRD`, written after the fresh one was spent).
    batch: Batch = "first"


# (kind, query, rule, filters) written by hand; every third one is held out (below).
#
# SIDECAST_READING: three queries (one here, one of the fourth batch, one of the fifth) were written,
# as the documents then said, as if a sidecast were a scholar taken off an expedition's team. It is the
# opposite: the game brings a new scholar in through an expedition (met on it, never one of its team:
# every sidecast scholar of the dev season is a new id, and their briefs say they "fell in with" the
# expedition). Their rules judge sidecasts, so on 2026-12-04 their words were corrected to say what the
# rules judge, with the documents; `bench.quality` figures before that date are of the old words.
#
# NEGOTIATION_READING: four rules (one here, one each of the eleventh, thirteenth and fourteenth
# batches) took a negotiation whose best offer was accepted for a scholar who left with the rival, as
# the documents then said. The best offer is often the employer's counter-offer, and then the scholar
# stays: the game's own press says "Remains with <the employer>" for 4 of the dev season's 8 accepted
# negotiations, "Defects to <the rival>" for the other 4. On 2026-12-04 (the fourteenth batch written,
# none of its results read) those rules were corrected to judge by whose offer was taken (`taken`), with
# the documents; the queries' words are as written. `bench.quality` figures before that are of the old rules.
#
# RETRACTION_READING: three rules (two here, one of the third batch) took every retraction notice for
# the press about a failed expedition (one of them by a text "failure" that every notice's "Failure
# detail" line matches). The game writes retraction notices for landmark and partial outcomes too (12 of
# the dev season's 30; the catalogue lists all three): on 2026-12-04 those rules were corrected to the
# notices whose outcome is a failure (the game's own "Outcome: failure"), with the documents.
#
# LADDER_READING: five rules (one here, one each of the eleventh and twelfth batches, two of the
# fourteenth) took the four ranks for one ladder (Fellow, Professor, Director, Visionary), as the
# documents then said. The game has two tracks of two ranks: the academic track's Fellow then
# Professor, the industry track's Director then Visionary. In the dev season every Professor was a
# Fellow first and every Visionary a Director, and a scholar moved onto the other track starts its
# ranks anew (s.proc-001: Fellow, Professor, Director, Visionary, Fellow, Professor). On 2026-12-04
# (before the documents were corrected, and with no results read) the four rules of a first, second
# or highest rank were corrected to both tracks' rank of that step, and the fourteenth batch's
# "scholars climbing to the third rank" (judged as the promotions to Director) was taken out: there
# is no third rank, so no event answers it. 355 queries from then on.
#
# REPRIMAND_READING: five queries' words (one here, one each of the seventh, ninth, thirteenth and
# fifteenth batches) take a symposium reprimand for a punishment for missing the symposium or a
# pledge, as the documents then said. The game writes it over a debt a player owes a faction (in the
# dev season every one is a seasonal pact's unpaid cost: the same player, faction and reprisal level
# as the pacts' debts, the first on 2025-09-03, before any symposium; its press says "Outstanding
# debt"). Their rules judge reprimands, which is right whatever a player thinks they were for; the
# words are as written.
# PARTIES_READING: two rules (one each of the fifth and fourteenth batches) took a player's counter-
# offers for the counter-offers naming the player, which was the same while a counter-offer named its
# patron only. Since the bridge carries a negotiation's parties (the rival too), those rules judge by
# the patron who made it (`payload.patron`), the same events as before on the documents before it.
WRITTEN: Written = [
    # --- meaning: what happened, in the words players, analysts and agents use -------------------
    ("meaning", "theories their authors bet their careers on",
     {"action": ["submit_theory", "conference_launched"], "payload": {"confidence": "stake_my_career"}}, {}),
    ("meaning", "scholars promoted to the highest rank", {"action": "career_progression", "payload": {"new_tier": ["Professor", "Visionary"]}}, {}),  # LADDER_READING
    ("meaning", "players chatting with each other", {"any": [{"action": "table_talk_post"}, {"press": "table_talk"}]}, {}),
    ("meaning", "expeditions that made a landmark discovery",
     {"any": [{"action": "expedition_resolved", "payload": {"result": "landmark"}},
              {"press": "discovery_report", "text": "outcome: landmark"}]}, {}),
    ("meaning", "expeditions that came back empty-handed",
     {"any": [{"action": "expedition_resolved", "payload": {"result": "failure"}}, {"press": "retraction_notice", "text": "outcome: failure"}]}, {}),  # RETRACTION_READING
    ("meaning", "a rival lab tried to lure away a scholar", {"action": "offer_created"}, {}),
    ("meaning", "a patron fought back to keep their scholar", {"action": "counter_offer_created"}, {}),
    ("meaning", "a scholar changed sides and joined another faction",
     {"any": [{"action": "defection_evaluated", "payload": {"outcome": "defected"}}, {"action": "admin_force_defection"},
              {"action": "defection_epilogue"}]}, {}),
    ("meaning", "scholars who turned down a rival's offer and stayed",
     {"any": [{"action": "negotiation_resolved", "taken": ["none", "counter"]}, {"press": "defection_notice", "text": "refused"}]}, {}),  # NEGOTIATION_READING
    ("meaning", "donations to the archive", {"any": [{"action": "archive_endowment"}, {"press": "archive_endowment"}]}, {}),
    ("meaning", "players funding a faction's programme", {"any": [{"action": "faction_investment"}, {"press": "faction_investment"}]}, {}),
    ("meaning", "the game master changed a player's reputation",
     {"any": [{"action": "admin_reputation_adjustment"}, {"press": "admin_action", "text": "reputation"}]}, {}),
    ("meaning", "a new year began in the game", {"any": [{"action": "timeline_advanced"}, {"press": "timeline_update"}]}, {}),
    ("meaning", "players punished for not turning up to the symposium",
     {"any": [{"action": "symposium_reprimand"}, {"press": "symposium_reprimand"}]}, {}),
    ("meaning", "how players voted on the symposium question", {"action": "symposium_vote"}, {}),
    ("meaning", "ideas put forward for the symposium to debate",
     {"any": [{"action": "symposium_proposal_submitted"}, {"press": "symposium_proposal"}]}, {}),
    ("meaning", "an experienced player starts coaching a scholar", {"action": ["mentorship_activated", "mentorship_queued"]}, {}),
    ("meaning", "new scholars joining the roster", {"action": "scholar_spawned"}, {}),
    ("meaning", "a scholar got a nickname", {"action": "nickname_adopted"}, {}),
    ("meaning", "successful hiring of a scholar", {"action": "recruitment_attempt", "payload": {"success": True}}, {}),
    ("meaning", "recruitment attempts that failed", {"action": "recruitment_attempt", "payload": {"success": False}}, {}),
    ("meaning", "conferences that went badly", {"action": "conference_resolved", "payload": {"outcome": "failure"}}, {}),
    ("meaning", "conferences that went well", {"action": "conference_resolved", "payload": {"outcome": "success"}}, {}),
    ("meaning", "a scholar moved to a different research track", {"action": "lab_assigned"}, {}),
    ("meaning", "the game was stopped for maintenance", {"action": ["game_paused", "game_resumed"]}, {}),
    ("meaning", "an expedition called off by the admins", {"action": "admin_cancel_expedition"}, {}),
    ("meaning", "pacts binding a player to a faction for the season",
     {"action": ["admin_create_seasonal_commitment", "admin_update_seasonal_commitment"]}, {}),
    ("meaning", "faction building projects",
     {"any": [{"action": ["admin_create_faction_project", "admin_update_faction_project"]},
              {"press": ["faction_project_update", "faction_project_complete"]}]}, {}),
    ("meaning", "a scholar who turned up during an expedition", {"action": "scholar_sidecast"}, {}),  # corrected: SIDECAST_READING
    ("meaning", "players nudged to cast their vote", {"action": "symposium_vote_reminder"}, {}),
    ("meaning", "players passing news stories around", {"action": "press_shared"}, {}),
    ("meaning", "expeditions launched with little preparation",
     {"action": "launch_expedition", "payload": {"prep_depth": "shallow"}}, {}),
    ("meaning", "theories put forward as a mere hunch", {"action": "submit_theory", "payload": {"confidence": "suspect"}}, {}),
    ("meaning", "rumours about the scholars", {"press": "academic_gossip"}, {}),
    ("meaning", "public statements by a lab after losing a scholar", {"press": "faction_statement"}, {}),
    # --- player: one player's events about a subject, with player_id --------------------------------
    ("player", "how did my conferences turn out", {"action": "conference_resolved", "thread_of": "teodor"}, {"player_id": "teodor"}),
    ("player", "expedition results", {"action": "expedition_resolved", "thread_of": "amara.o"}, {"player_id": "amara.o"}),
    ("player", "theories submitted", {"action": "submit_theory", "player": "marguerite"}, {"player_id": "marguerite"}),
    ("player", "mentoring scholars", {"action": ["mentorship_activated", "mentorship_queued"], "player": "b.sato"},
     {"player_id": "b.sato"}),
    ("player", "offers to poach scholars", {"action": "offer_created", "player": "lenka_h"}, {"player_id": "lenka_h"}),
    ("player", "reprimands", {"any": [{"action": "symposium_reprimand"}, {"press": "symposium_reprimand"}], "player": "amara.o"},
     {"player_id": "amara.o"}),
    ("player", "conference outcomes", {"action": "conference_resolved", "thread_of": "priya_r"}, {"player_id": "priya_r"}),
    ("player", "recruiting", {"action": "recruitment_attempt", "player": "priya_r"}, {"player_id": "priya_r"}),
    ("player", "press about failed expeditions", {"press": "retraction_notice", "text": "outcome: failure", "thread_of": "teodor"}, {"player_id": "teodor"}),  # RETRACTION_READING
    ("player", "investments in factions", {"any": [{"action": "faction_investment"}, {"press": "faction_investment"}],
                                           "player": "teodor"}, {"player_id": "teodor"}),
    # --- time: with occurred_after / occurred_before ------------------------------------------------
    ("time", "theories submitted", {"action": "submit_theory"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-08T00:00:00Z"}),
    ("time", "promotions", {"action": "career_progression"},
     {"occurred_after": "2025-09-15T00:00:00Z", "occurred_before": "2025-10-01T00:00:00Z"}),
    ("time", "expeditions resolved", {"action": "expedition_resolved"},
     {"occurred_after": "2025-10-01T00:00:00Z", "occurred_before": "2025-10-16T00:00:00Z"}),
    ("time", "conference results", {"action": "conference_resolved"},
     {"occurred_after": "2025-09-08T00:00:00Z", "occurred_before": "2025-09-15T00:00:00Z"}),
    ("time", "table talk", {"any": [{"action": "table_talk_post"}, {"press": "table_talk"}]},
     {"occurred_after": "2025-09-20T00:00:00Z", "occurred_before": "2025-10-05T00:00:00Z"}),
    ("time", "the year changing", {"any": [{"action": "timeline_advanced"}, {"press": "timeline_update"}]},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-20T00:00:00Z"}),
    ("time", "offers made for scholars", {"action": "offer_created"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-15T00:00:00Z"}),
    ("time", "new scholars", {"action": "scholar_spawned"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-03T00:00:00Z"}),
    ("time", "symposium votes", {"action": "symposium_vote"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-25T00:00:00Z"}),
    ("time", "reputation changes by the admin", {"action": "admin_reputation_adjustment"},
     {"occurred_after": "2025-09-05T00:00:00Z", "occurred_before": "2025-10-16T00:00:00Z"}),
    # --- sentence: full questions, as agents ask ---------------------------------------------------------
    ("sentence", "Which scholars were promoted to Director?", {"action": "career_progression", "payload": {"new_tier": "Director"}}, {}),
    ("sentence", "Which expeditions failed, and what happened to the team's reputation?",
     {"action": "expedition_resolved", "payload": {"result": "failure"}}, {}),
    ("sentence", "Did any scholar defect to the foreign faction?",
     {"any": [{"action": ["defection_evaluated", "admin_force_defection", "defection_epilogue"], "payload": {"new_faction": "foreign"}}]},
     {}),
    ("sentence", "What did the players say to each other at the table?", {"action": "table_talk_post"}, {}),
    ("sentence", "Which theories were submitted with full certainty?", {"action": "submit_theory", "payload": {"confidence": "certain"}}, {}),
    ("sentence", "Who gave money to the archive?", {"action": "archive_endowment"}, {}),
    ("sentence", "Which recruitment attempts succeeded for the academia faction?",
     {"action": "recruitment_attempt", "payload": {"success": True, "faction": "academia"}}, {}),
    ("sentence", "When was the game paused and why?", {"action": ["game_paused", "game_resumed"]}, {}),
]  # fmt: skip


# A second held-out batch, written on 2026-12-01 from the event catalogue alone, before any result of
# them was seen and before the fusion was changed (the first batch's held-out figures had been looked at
# while the fusion weights were compared). None of these is ever tuned on.
FRESH: Written = [
    ("meaning", "expeditions that only partly succeeded", {"action": "expedition_resolved", "payload": {"result": "partial"}}, {}),
    ("meaning", "scholars reaching the rank of Professor", {"action": "career_progression", "payload": {"new_tier": "Professor"}}, {}),
    ("meaning", "the symposium's final result", {"action": "symposium_resolved"}, {}),
    ("meaning", "a new debate opened at the symposium", {"action": "symposium_started"}, {}),
    ("meaning", "players given extra influence by the game master", {"action": "admin_influence_adjustment"}, {}),
    ("meaning", "scholars moved onto industry work", {"action": "lab_assigned", "payload": {"career_track": "Industry"}}, {}),
    ("meaning", "teams getting ready before a big find", {"press": "landmark_preparation"}, {}),
    ("meaning", "a lab declaring what its research stands for", {"press": "research_manifesto"}, {}),
    ("meaning", "expeditions planned with thorough preparation",
     {"action": "launch_expedition", "payload": {"prep_depth": "deep"}}, {}),
    ("sentence", "Which players won over a scholar for the government faction?",
     {"action": "recruitment_attempt", "payload": {"success": True, "faction": "government"}}, {}),
    ("sentence", "Which offers for scholars were accepted?", {"action": "negotiation_resolved", "payload": {"accepted": True}}, {}),
    ("sentence", "Which players put money into the industry faction?",
     {"action": "faction_investment", "payload": {"faction": "industry"}}, {}),
    ("sentence", "Which players got a reminder to vote in the symposium?", {"action": "symposium_vote_reminder"}, {}),
    ("player", "scholars I recruited", {"action": "recruitment_attempt", "payload": {"success": True}, "player": "marguerite"},
     {"player_id": "marguerite"}),
    ("player", "my table talk", {"action": "table_talk_post", "player": "lenka_h"}, {"player_id": "lenka_h"}),
    ("time", "expeditions launched", {"action": "launch_expedition"},
     {"occurred_after": "2025-09-10T00:00:00Z", "occurred_before": "2025-09-24T00:00:00Z"}),
]  # fmt: skip


# A third held-out batch, written on 2026-12-02 from the event catalogue alone (actions, press types and
# their fields), before any result of them was seen and before any change it is used to judge; the two
# batches before it had both been seen by then (the fresh one as a whole, when semantic mode beat the
# default on it). None of these is ever tuned on. One query written for it ("new business opportunities
# opening up for a player", press `opportunity_unlocked`) judged no event of this season relevant, so it
# was replaced by the faction project query, before any search was run.
THIRD: Written = [
    ("meaning", "expeditions that went better than hoped", {"action": "expedition_resolved", "payload": {"result": ["success", "landmark"]}}, {}),
    ("meaning", "scholars made Fellows", {"action": "career_progression", "payload": {"new_tier": "Fellow"}}, {}),
    ("meaning", "theories their authors were only half sure of", {"action": "submit_theory", "payload": {"confidence": "suspect"}}, {}),
    ("meaning", "a conference where the author was fully convinced",
     {"action": "conference_launched", "payload": {"confidence": "certain"}}, {}),
    ("meaning", "a nickname the players gave a scholar", {"action": "nickname_adopted"}, {}),
    ("meaning", "a player reposting a story from the papers", {"action": "press_shared"}, {}),
    ("meaning", "a scholar held a grudge after a failed hiring",
     {"any": [{"press": "scholar_grudge"}, {"action": "followup_resolved", "payload": {"kind": "recruitment_grudge"}}]}, {}),
    ("meaning", "a big team project launched rather than a field trip",
     {"action": ["launch_expedition", "expedition_resolved"], "payload": {"type": "great_project"}}, {}),
    ("meaning", "a player's standing with a faction went up", {"press": "faction_shift"}, {}),
    ("meaning", "a faction's building work was finished", {"press": "faction_project_complete"}, {}),
    ("sentence", "Which scholars were made Professor this season?", {"action": "career_progression", "payload": {"new_tier": "Professor"}}, {}),
    ("sentence", "Who proposed topics for the symposium?",
     {"any": [{"action": "symposium_proposal_submitted"}, {"press": "symposium_proposal"}]}, {}),
    ("sentence", "Which expeditions ended in failure?",
     {"any": [{"action": "expedition_resolved", "payload": {"result": "failure"}}, {"press": "retraction_notice", "text": "outcome: failure"}]}, {}),  # RETRACTION_READING
    ("sentence", "What did the game master do to players' influence?", {"action": "admin_influence_adjustment"}, {}),
    ("player", "my expeditions", {"action": ["launch_expedition", "expedition_resolved"], "player": "teodor"}, {"player_id": "teodor"}),
    ("player", "scholars I mentored", {"action": ["mentorship_activated", "mentorship_queued"], "player": "priya_r"},
     {"player_id": "priya_r"}),
    ("player", "my votes at the symposium", {"action": "symposium_vote", "player": "b.sato"}, {"player_id": "b.sato"}),
    ("time", "career promotions", {"action": "career_progression"},
     {"occurred_after": "2025-10-01T00:00:00Z", "occurred_before": "2025-10-16T00:00:00Z"}),
    ("time", "theories put forward", {"action": "submit_theory"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-15T00:00:00Z"}),
]  # fmt: skip


# A fourth held-out batch, written on 2026-12-02 (session 16) from the event catalogue alone, before any
# result of them was seen and before any change it is used to judge (BM25 calibrated by what the query
# could score, the defection rendering); the three batches before it had all been seen as wholes by then.
# None of these is ever tuned on. Three queries written for it judged no event of this season relevant
# (an industrial contract's follow-up, a mentorship's completion, a negotiation nobody won: the season has
# none, and press metadata is nested) and two players had one relevant event each; these were replaced,
# from the counts of relevant events alone, before any search was run.
FOURTH: Written = [
    ("meaning", "scholars who became Directors", {"action": "career_progression", "payload": {"new_tier": "Director"}}, {}),
    ("meaning", "a look back through the archives", {"press": "archive_digest"}, {}),
    ("meaning", "conferences with a mixed outcome", {"action": "conference_resolved", "payload": {"outcome": "partial"}}, {}),
    ("meaning", "players backing the religious faction with money",
     {"action": "faction_investment", "payload": {"faction": "religion"}}, {}),
    ("meaning", "think-tank research missions", {"action": ["launch_expedition", "expedition_resolved"], "payload": {"type": "think_tank"}}, {}),
    ("meaning", "a second, sterner reminder to vote", {"action": "symposium_vote_reminder", "payload": {"reminder_level": "escalation"}}, {}),
    ("meaning", "a seasonal pact came to an end", {"action": "admin_update_seasonal_commitment"}, {}),
    ("meaning", "news that a player's reputation rose", {"press": "reputation_shift"}, {}),
    ("meaning", "a player kept their promise to a faction for the season", {"press": "seasonal_commitment_complete"}, {}),
    ("meaning", "scholars discovered on expeditions stepping into the spotlight",  # corrected: SIDECAST_READING
     {"action": "sidecast_followup", "payload": {"phase": "spotlight"}}, {}),
    ("meaning", "how a bidding war over a scholar ended",
     {"any": [{"action": "negotiation_resolved"}, {"press": "negotiation_resolved"}]}, {}),
    ("meaning", "an expedition betting the leader's whole career",
     {"action": ["launch_expedition", "expedition_resolved"], "payload": {"confidence": "stake_my_career"}}, {}),
    ("sentence", "Which scholars were moved onto the academic track?", {"action": "lab_assigned", "payload": {"career_track": "Academia"}}, {}),
    ("sentence", "Which scholars were given a nickname by the players?", {"action": "nickname_adopted"}, {}),
    ("sentence", "Who lost reputation because of a game master's decision?",
     {"action": "admin_reputation_adjustment", "payload": {"delta": [-1, -2, -3, -4, -5]}}, {}),
    ("player", "my investments in factions", {"action": "faction_investment", "player": "lenka_h"}, {"player_id": "lenka_h"}),
    ("player", "failed attempts to recruit", {"action": "recruitment_attempt", "payload": {"success": False}, "player": "amara.o"},
     {"player_id": "amara.o"}),
    ("player", "what I posted at the table", {"action": "table_talk_post", "player": "amara.o"}, {"player_id": "amara.o"}),
    ("time", "symposium votes", {"action": "symposium_vote"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-10-01T00:00:00Z"}),
    ("time", "donations to the archive", {"action": "archive_endowment"},
     {"occurred_after": "2025-09-15T00:00:00Z", "occurred_before": "2025-10-15T00:00:00Z"}),
]  # fmt: skip


# A fifth batch, written on 2026-12-03 from the event catalogue and the counts of each player's events
# by action alone (at least 4 relevant each), before any result of them was seen: one player's events in
# plain words, with `player_id`. The held-out queries of that kind had then been seen as a whole (semantic
# mode beat the default on them, 0.82 against 0.79), but only 6 of the kind were tuned on, too few to
# choose anything by; every other query here is tuned on, the rest held out.
def _own(query: str, rule: Rule, player: str, whose: str = "player") -> tuple[str, str, Rule, dict[str, str]]:
    """A `player` query among `player`'s events (`player_id`), relevant by `rule` and naming the player
    (`whose`: `player`, or `thread_of` for the events of the player's threads)."""
    return "player", query, {**rule, whose: player}, {"player_id": player}


FIFTH: Written = [
    _own("scholars I promoted", {"action": "career_progression"}, "lenka_h"),
    _own("expeditions I sent out", {"action": "launch_expedition"}, "priya_r"),
    _own("counter-offers I made to keep my scholars", {"action": "counter_offer_created", "payload": {"patron": "priya_r"}}, "priya_r"),  # PARTIES_READING
    _own("my votes in the symposium", {"action": "symposium_vote"}, "b.sato"),
    _own("stories I shared", {"action": "press_shared"}, "teodor"),
    _own("conferences I organised", {"action": "conference_launched"}, "b.sato"),
    _own("nicknames I gave to scholars", {"action": "nickname_adopted"}, "priya_r"),
    _own("gifts to the archive", {"any": [{"action": "archive_endowment"}, {"press": "archive_endowment"}]}, "b.sato"),
    _own("proposals I put to the symposium",
         {"any": [{"action": "symposium_proposal_submitted"}, {"press": "symposium_proposal"}]}, "teodor"),
    _own("times the game master changed my reputation", {"action": "admin_reputation_adjustment"}, "teodor"),
    _own("mentorships I started", {"action": "mentorship_activated"}, "marguerite"),
    _own("bids I made for other players' scholars", {"action": "offer_created"}, "b.sato"),
    _own("what became of scholars my expeditions turned up", {"action": "sidecast_followup"}, "priya_r"),  # corrected: SIDECAST_READING
    _own("reminders I got to vote", {"action": "symposium_vote_reminder"}, "marguerite"),
    _own("scholars moved to another career track in my lab", {"action": "lab_assigned"}, "lenka_h"),
    _own("how my expeditions came back", {"action": "expedition_resolved"}, "amara.o", whose="thread_of"),
]  # fmt: skip


# A sixth batch, written on 2026-12-04 from the event catalogue alone (actions, press types, payload
# fields and their values), on subjects and values the batches before it did not ask about, before any
# result of them was seen; held out whole and never tuned on. No change is judged by it: it measures the
# search as it stands once all five batches before it had been seen. Which queries judge how many events
# relevant was counted (with `Judge`, no search) before any search was run. Six written for it judged
# no event of this season relevant (the catalogue's season has values this one does not: logistics and
# dignitary follow-ups, hardship and founding grants, a cancelled pact, scholars arriving after the first
# day), so they were replaced then, from the season's counts of each action and value alone, and one
# player's query moved to a player with more such events.
SIXTH: Written = [
    ("meaning", "expeditions whose leader was completely sure of success",
     {"action": ["launch_expedition", "expedition_resolved"], "payload": {"confidence": "certain"}}, {}),
    ("meaning", "a scholar who had left making peace with their old lab",
     {"any": [{"action": "defection_epilogue"}, {"press": ["defection_epilogue", "defection_epilogue_brief"]}]}, {}),
    ("meaning", "a forgotten figure from the archives resurfacing",
     {"action": "sidecast_followup", "payload": {"arc": "archive_ghost"}}, {}),
    ("meaning", "players paid a stipend by the faction councils midway through the season",
     {"action": "admin_influence_adjustment", "payload": {"reason": "Mid-season stipend from the faction councils"}}, {}),
    ("meaning", "expeditions waiting to set off", {"action": "expedition_queued"}, {}),
    ("meaning", "conferences where the author had doubts about their own theory",
     {"action": "conference_launched", "payload": {"confidence": "suspect"}}, {}),
    ("meaning", "summaries of what was said at the table", {"press": ["table_talk_digest", "table_talk_roundup"]}, {}),
    ("meaning", "theories that came out of an expedition's findings", {"press": "discovery_theory"}, {}),
    ("meaning", "fieldwork expeditions", {"action": ["launch_expedition", "expedition_resolved"], "payload": {"type": "field"}}, {}),
    ("meaning", "daily roundups of the biggest news",
     {"any": [{"action": "digest_highlights_generated"}, {"press": "digest_highlights"}]}, {}),
    ("meaning", "the odds of winning a scholar over, as the papers reported them", {"press": "recruitment_report"}, {}),
    ("sentence", "Which players invested in the academia faction?", {"action": "faction_investment", "payload": {"faction": "academia"}}, {}),
    ("sentence", "Who was given a grant when the season opened?",
     {"action": "admin_influence_adjustment", "payload": {"reason": "Opening grant for the season"}}, {}),
    ("sentence", "Which recruitment attempts failed for the religion faction?",
     {"action": "recruitment_attempt", "payload": {"success": False, "faction": "religion"}}, {}),
    ("sentence", "When did the year 1950 begin?",
     {"any": [{"action": "timeline_advanced", "payload": {"current_year": 1950}}, {"press": "timeline_update", "text": "1950"}]}, {}),
    _own("money I put into factions", {"action": "faction_investment"}, "amara.o"),
    _own("scholars I took under my wing", {"action": ["mentorship_activated", "mentorship_queued"]}, "lenka_h"),
    _own("theories I proposed", {"action": "submit_theory"}, "amara.o"),
    ("time", "nicknames given to scholars", {"action": "nickname_adopted"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-10-01T00:00:00Z"}),
    ("time", "news stories players shared", {"action": "press_shared"},
     {"occurred_after": "2025-09-15T00:00:00Z", "occurred_before": "2025-10-01T00:00:00Z"}),
    ("time", "mentorships begun", {"action": "mentorship_activated"},
     {"occurred_after": "2025-09-15T00:00:00Z", "occurred_before": "2025-10-15T00:00:00Z"}),
]  # fmt: skip


# A seventh batch, written on 2026-12-04 from the event catalogue alone, once the sixth had been seen
# (its misses were mostly coded values and kinds of press release that the documents name but do not
# explain) and before the change made for that (every such value given its meaning in words), so that
# this batch judges the change: scored before it and after, held out whole, never tuned on. Subjects
# and values the batches before it did not ask about, in the same mix of kinds; the counts of relevant
# events (with `Judge`, no search) were looked at before any search was run, to pick players and time
# ranges that have such events.
SEVENTH: Written = [
    ("meaning", "news that a conference was coming up", {"press": "conference_scheduled"}, {}),
    ("meaning", "news about how mentorships are going", {"press": "mentorship_update"}, {}),
    ("meaning", "a faction's project scrapped by the game master", {"action": "admin_update_faction_project"}, {}),
    ("meaning", "fieldwork that came to nothing", {"action": "expedition_resolved", "payload": {"type": "field", "result": "failure"}}, {}),
    ("meaning", "the harshest punishments for skipping the symposium",
     {"action": "symposium_reprimand", "payload": {"reprisal_level": [4, 5, 6, 7]}}, {}),
    ("meaning", "think-tank studies that made a landmark discovery",
     {"action": "expedition_resolved", "payload": {"type": "think_tank", "result": "landmark"}}, {}),
    ("meaning", "a junior scholar from the area joining a team", {"action": "sidecast_followup", "payload": {"arc": "local_junior"}}, {}),
    ("meaning", "expeditions that cost their leader reputation",
     {"action": "expedition_resolved", "payload": {"reputation_delta": list(range(-25, 0))}}, {}),
    ("meaning", "briefings on how a recruitment went", {"press": "recruitment_brief"}, {}),
    ("meaning", "what the papers said after a scholar was recruited", {"press": "recruitment_followup"}, {}),
    ("sentence", "Which players recruited scholars for the foreign faction?",
     {"action": "recruitment_attempt", "payload": {"success": True, "faction": "foreign"}}, {}),
    ("sentence", "Who endowed the archive on behalf of the academia faction?",
     {"action": "archive_endowment", "payload": {"faction": "academia"}}, {}),
    ("sentence", "Which players were reprimanded by the government faction?",
     {"action": "symposium_reprimand", "payload": {"faction": "government"}}, {}),
    ("sentence", "Which conferences cost their author reputation?",
     {"action": "conference_resolved", "payload": {"reputation_delta": list(range(-25, 0))}}, {}),
    _own("expeditions of mine that failed", {"action": "expedition_resolved", "payload": {"result": "failure"}}, "priya_r"),
    _own("scholars I tried to hire", {"action": "recruitment_attempt"}, "amara.o"),
    _own("my donations", {"any": [{"action": "archive_endowment"}, {"press": "archive_endowment"}]}, "marguerite"),
    ("time", "scholars assigned to a new track", {"action": "lab_assigned"},
     {"occurred_after": "2025-09-10T00:00:00Z", "occurred_before": "2025-09-30T00:00:00Z"}),
    ("time", "counter-offers", {"action": "counter_offer_created"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-20T00:00:00Z"}),
    ("time", "reprimands at the symposium", {"action": "symposium_reprimand"},
     {"occurred_after": "2025-09-10T00:00:00Z", "occurred_before": "2025-09-30T00:00:00Z"}),
]  # fmt: skip


# An eighth batch, written on 2026-12-04 (a later session) from the event catalogue alone, once the
# seventh had been used to judge a change and before any further change was chosen, so that it
# judges the next one: scored as a whole before and after, held out whole, never tuned on, its
# per-query results never read. Subjects the batches before it did not ask about (kinds of press
# release and payload values no rule had named), in the same mix of kinds; as before, only the
# counts of relevant events (with `Judge`, no search) were looked at before it was scored.
EIGHTH: Written = [
    ("meaning", "news items lined up to be published later", {"action": "press_scheduled"}, {}),
    ("meaning", "stories that went out once their waiting time was over", {"action": "scheduled_press_released"}, {}),
    ("meaning", "progress reports on the pacts players made with a faction for the season", {"press": "seasonal_commitment_update"}, {}),
    ("meaning", "follow-up notes published after a think tank's study", {"press": "academic_bulletin"}, {}),
    ("meaning", "short news items about newcomers met on an expedition", {"press": "sidecast_brief"}, {}),
    ("meaning", "notices nudging players to cast their symposium vote", {"press": "symposium_reminder"}, {}),
    ("meaning", "a new question put to the symposium for debate",
     {"any": [{"action": "symposium_started"}, {"press": "symposium_announcement"}]}, {}),
    ("meaning", "how the symposium vote came out",
     {"any": [{"action": "symposium_resolved"}, {"press": "symposium_resolution"}]}, {}),
    ("meaning", "a scholar who resented being approached by a recruiter",
     {"action": "followup_resolved", "payload": {"kind": "recruitment_grudge"}}, {}),
    ("meaning", "mentorships planned to steer a scholar towards business",
     {"action": "mentorship_queued", "payload": {"career_track": "Industry"}}, {}),
    ("sentence", "Which scholars moved from industry back to academia?",
     {"action": "lab_assigned", "payload": {"career_track": "Academia", "old_track": "Industry"}}, {}),
    ("sentence", "Which players did the administrators take reputation away from?",
     {"action": "admin_reputation_adjustment", "payload": {"delta": list(range(-5, 0))}}, {}),
    ("sentence", "Which scholars were being mentored towards a university career?",
     {"action": "mentorship_queued", "payload": {"career_track": "Academia"}}, {}),
    ("sentence", "What topics did players propose for the symposium?", {"action": "symposium_proposal_submitted"}, {}),
    _own("offers I made to lure scholars from other labs", {"action": "offer_created"}, "b.sato"),
    _own("times the admins changed my reputation", {"action": "admin_reputation_adjustment"}, "teodor"),
    _own("my posts in the common room", {"action": "table_talk_post"}, "priya_r"),
    ("time", "retractions", {"press": "retraction_notice"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-15T00:00:00Z"}),
    ("time", "attempts to poach scholars", {"action": "offer_created"},
     {"occurred_after": "2025-09-10T00:00:00Z", "occurred_before": "2025-10-01T00:00:00Z"}),
    ("time", "money put into factions", {"action": "faction_investment"},
     {"occurred_after": "2025-09-05T00:00:00Z", "occurred_before": "2025-09-25T00:00:00Z"}),
]  # fmt: skip


# A ninth batch, written on 2026-12-04 from the catalogue once the eighth had judged a change (the
# blanks of press headlines filled), before the next change was chosen; as before, only the counts of
# relevant events (with `Judge`, no search) were looked at before it was scored, and its per-query
# results are not read while it judges. Subjects asked about little or not at all before (bidding wars,
# pauses of the game, the phases of a newcomer's story, reprimands, shallow preparation, conference
# failures, refused offers, grants, in-depth analyses), in the same mix of kinds.
NINTH: Written = [
    ("meaning", "bidding wars between two labs over the same scholar", {"any": [{"action": "counter_offer_created"}, {"press": "negotiation"}]}, {}),
    ("meaning", "announcements that play was halted or started again", {"any": [{"action": ["game_paused", "game_resumed"]}, {"press": "admin_update"}]}, {}),
    ("meaning", "a newcomer's first appearance in the story", {"action": "sidecast_followup", "payload": {"phase": "debut"}}, {}),
    ("meaning", "newcomers settling in with the lab that took them on", {"action": "sidecast_followup", "payload": {"phase": "integration"}}, {}),
    ("meaning", "players punished for not keeping their symposium pledge", {"any": [{"action": "symposium_reprimand"}, {"press": "symposium_reprimand"}]}, {}),
    ("meaning", "in-depth pieces looking into one question", {"press": "analysis"}, {}),
    ("meaning", "expeditions sent off with little preparation", {"action": "launch_expedition", "payload": {"prep_depth": "shallow"}}, {}),
    ("meaning", "money given to the church", {"action": "faction_investment", "payload": {"faction": "religion"}}, {}),
    ("meaning", "conferences where the theory was rejected", {"action": "conference_resolved", "payload": {"outcome": "failure"}}, {}),
    ("meaning", "scholars who would not take any of the offers made to them", {"action": "negotiation_resolved", "payload": {"accepted": False}}, {}),
    ("sentence", "Which scholars were won over for a religious faction?", {"action": "recruitment_attempt", "payload": {"faction": "religion", "success": True}}, {}),
    ("sentence", "Which scholars became Directors?", {"action": "career_progression", "payload": {"new_tier": "Director"}}, {}),
    ("sentence", "Which think tank studies ended in a landmark result?", {"action": "expedition_resolved", "payload": {"type": "think_tank", "result": "landmark"}}, {}),
    ("sentence", "Who was given a grant at the start of the season?", {"action": "admin_influence_adjustment"}, {}),
    _own("field expeditions I led", {"action": "launch_expedition", "payload": {"type": "field"}}, "priya_r"),
    _own("scholars I courted for the religious faction", {"action": "recruitment_attempt", "payload": {"faction": "religion"}}, "priya_r"),
    _own("mentorships I started", {"action": "mentorship_activated"}, "amara.o"),
    ("time", "landmark discoveries", {"action": "expedition_resolved", "payload": {"result": "landmark"}},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-10-01T00:00:00Z"}),
    ("time", "scholars moving up a rank", {"action": "career_progression"},
     {"occurred_after": "2025-09-15T00:00:00Z", "occurred_before": "2025-10-05T00:00:00Z"}),
    ("time", "chatter in the common room", {"action": "table_talk_post"},
     {"occurred_after": "2025-09-20T00:00:00Z", "occurred_before": "2025-10-10T00:00:00Z"}),
]  # fmt: skip


# A tenth batch, written on 2026-12-04 once the ninth had judged its change (the side the query asks
# for first), before the next change was chosen; as before, only the counts of relevant events (with
# `Judge`, no search) were looked at before it was scored. Subjects and phrasings the batches before it
# used little (nicknames, cancelled expeditions, finished faction projects, partial conferences, the
# archive's digests, desk research that failed, pacts, rivals' offers), in the same mix of kinds.
TENTH: Written = [
    ("meaning", "names players gave to scholars they liked", {"action": "nickname_adopted"}, {}),
    ("meaning", "an expedition stopped by the authorities", {"any": [{"action": "admin_cancel_expedition"}, {"press": "admin_action", "text": "cancel"}]}, {}),
    ("meaning", "a faction's great project brought to completion", {"press": "faction_project_complete"}, {}),
    ("meaning", "money sunk into foreign interests", {"action": "faction_investment", "payload": {"faction": "foreign"}}, {}),
    ("meaning", "recruiters who came away empty-handed", {"action": "recruitment_attempt", "payload": {"success": False}}, {}),
    ("meaning", "conferences that only half convinced the audience", {"action": "conference_resolved", "payload": {"outcome": "partial"}}, {}),
    ("meaning", "the symposium's winning option", {"action": "symposium_resolved"}, {}),
    ("meaning", "the archive's periodic round-up of recent events", {"press": "archive_digest"}, {}),
    ("meaning", "a scholar weighing whether to abandon their patron", {"action": "defection_evaluated"}, {}),
    ("meaning", "desk research that went nowhere", {"action": "expedition_resolved", "payload": {"type": "think_tank", "result": "failure"}}, {}),
    ("sentence", "Which players signed a season-long pact with the academia faction?", {"action": "admin_create_seasonal_commitment", "payload": {"faction": "academia"}}, {}),
    ("sentence", "Which rivals made offers for other labs' scholars?", {"action": "offer_created"}, {}),
    ("sentence", "Which conferences were launched with full confidence?", {"action": "conference_launched", "payload": {"confidence": "certain"}}, {}),
    ("sentence", "What did scholars turn up on field expeditions?", {"action": "expedition_resolved", "payload": {"type": "field"}}, {}),
    _own("my theories", {"action": "submit_theory"}, "teodor"),
    _own("my expeditions that failed", {"action": "expedition_resolved", "payload": {"result": "failure"}}, "amara.o"),
    _own("mentorships I lined up for my scholars", {"action": "mentorship_queued"}, "lenka_h"),
    ("time", "expedition failures", {"action": "expedition_resolved", "payload": {"result": "failure"}},
     {"occurred_after": "2025-09-15T00:00:00Z", "occurred_before": "2025-10-15T00:00:00Z"}),
    ("time", "symposium votes", {"action": "symposium_vote"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-20T00:00:00Z"}),
    ("time", "nicknames given", {"action": "nickname_adopted"},
     {"occurred_after": "2025-09-20T00:00:00Z", "occurred_before": "2025-10-15T00:00:00Z"}),
]  # fmt: skip


# An eleventh batch, written on 2026-12-04 once the tenth had judged its changes (the votes written
# out, titles saying the author's stake), before the next change was chosen; as before, only the
# counts of relevant events (with `Judge`, no search) were looked at before it was scored. Coded values
# in plain words (types and results of expeditions, preparation, tracks, factions, ranks, outcomes,
# reminders, votes), in the same mix of kinds.
ELEVENTH: Written = [
    ("meaning", "expeditions out in the field that failed", {"action": "expedition_resolved", "payload": {"type": "field", "result": "failure"}}, {}),
    ("meaning", "research at the desk that paid off", {"action": "expedition_resolved", "payload": {"type": "think_tank", "result": ["success", "landmark"]}}, {}),
    ("meaning", "carefully prepared expeditions setting off", {"action": "launch_expedition", "payload": {"prep_depth": "deep"}}, {}),
    ("meaning", "scholars moved onto the business track", {"action": "lab_assigned", "payload": {"career_track": "Industry"}}, {}),
    ("meaning", "players trying to win scholars over for the foreign faction", {"action": "recruitment_attempt", "payload": {"faction": "foreign"}}, {}),
    ("meaning", "scholars taking the first step on the career ladder", {"action": "career_progression", "payload": {"new_tier": ["Fellow", "Director"]}}, {}),  # LADDER_READING
    ("meaning", "conferences that went well for their authors", {"action": "conference_resolved", "payload": {"outcome": "success"}}, {}),
    ("meaning", "investments in the universities' faction", {"action": "faction_investment", "payload": {"faction": "academia"}}, {}),
    ("meaning", "offers that lured a scholar away", {"action": "negotiation_resolved", "taken": "rival"}, {}),  # NEGOTIATION_READING
    ("meaning", "a large project put together by a whole team",
     {"any": [{"action": "launch_expedition", "payload": {"type": "great_project"}}, {"action": "expedition_queued", "payload": {"expedition_type": "great_project"}}]}, {}),
    ("sentence", "Which expeditions ended in a landmark discovery?", {"action": "expedition_resolved", "payload": {"result": "landmark"}}, {}),
    ("sentence", "Which players had to be reminded a second time to vote?", {"action": "symposium_vote_reminder", "payload": {"reminder_level": "escalation"}}, {}),
    ("sentence", "Which players voted for the first option?", {"action": "symposium_vote", "payload": {"vote_option": 1}}, {}),
    ("sentence", "Which recruitments for the industry faction succeeded?", {"action": "recruitment_attempt", "payload": {"faction": "industry", "success": True}}, {}),
    _own("my think tanks", {"action": "launch_expedition", "payload": {"type": "think_tank"}}, "amara.o"),
    _own("scholars I tried to recruit", {"action": "recruitment_attempt"}, "marguerite"),
    _own("nicknames I came up with", {"action": "nickname_adopted"}, "b.sato"),
    ("time", "conference outcomes", {"action": "conference_resolved"},
     {"occurred_after": "2025-09-10T00:00:00Z", "occurred_before": "2025-09-30T00:00:00Z"}),
    ("time", "scholars joining the roster", {"action": "scholar_spawned"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-20T00:00:00Z"}),
    ("time", "counter-offers to keep scholars", {"action": "counter_offer_created"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-25T00:00:00Z"}),
]  # fmt: skip


# A twelfth batch, written on 2026-12-04 once the eleventh had judged its change (titles saying every
# defining coded value), before the next change was chosen; as before, only the counts of relevant
# events (with `Judge`, no search) were looked at before it was scored. New wordings for coded values
# and stages (votes by option, ranks, tracks, factions, queued desk studies, mentorships begun, the
# calendar, archive figures), in the same mix of kinds.
TWELFTH: Written = [
    ("meaning", "votes cast in the symposium for the second option", {"action": "symposium_vote", "payload": {"vote_option": 2}}, {}),
    ("meaning", "scholars reaching the second rank", {"action": "career_progression", "payload": {"new_tier": ["Professor", "Visionary"]}}, {}),  # LADDER_READING
    ("meaning", "scholars won over for the government", {"action": "recruitment_attempt", "payload": {"faction": "government", "success": True}}, {}),
    ("meaning", "desk studies put in the queue", {"action": "expedition_queued", "payload": {"expedition_type": "think_tank"}}, {}),
    ("meaning", "scholars steered into university work", {"action": "lab_assigned", "payload": {"career_track": "Academia"}}, {}),
    ("meaning", "a mentor starting to work with a scholar", {"action": "mentorship_activated"}, {}),
    ("meaning", "the game's calendar moving on", {"action": "timeline_advanced"}, {}),
    ("meaning", "funds for the government faction", {"action": "faction_investment", "payload": {"faction": "government"}}, {}),
    ("meaning", "fieldwork that went well", {"action": "expedition_resolved", "payload": {"type": "field", "result": ["success", "landmark"]}}, {}),
    ("meaning", "forgotten figures from the archives coming back into the story", {"action": "sidecast_followup", "payload": {"arc": "archive_ghost"}}, {}),
    ("sentence", "Which field expeditions succeeded?", {"action": "expedition_resolved", "payload": {"type": "field", "result": "success"}}, {}),
    ("sentence", "Which scholars were moved to the industry track?", {"action": "lab_assigned", "payload": {"career_track": "Industry"}}, {}),
    ("sentence", "Which players were reprimanded by the academia faction?", {"action": "symposium_reprimand", "payload": {"faction": "academia"}}, {}),
    ("sentence", "Which conferences got a mixed reception?", {"action": "conference_resolved", "payload": {"outcome": "partial"}}, {}),
    _own("my recruitment attempts that failed", {"action": "recruitment_attempt", "payload": {"success": False}}, "amara.o"),
    _own("expeditions I queued", {"action": "expedition_queued"}, "priya_r"),
    _own("my reprimands", {"action": "symposium_reprimand"}, "amara.o"),
    ("time", "theories submitted", {"action": "submit_theory"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-15T00:00:00Z"}),
    ("time", "recruitment attempts", {"action": "recruitment_attempt"},
     {"occurred_after": "2025-09-15T00:00:00Z", "occurred_before": "2025-10-15T00:00:00Z"}),
    ("time", "mentorships queued", {"action": "mentorship_queued"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-20T00:00:00Z"}),
]  # fmt: skip


# A thirteenth batch, written on 2026-12-04 once the twelfth had judged its change (titles saying how a
# thread ended, not kept), before the next change was chosen; as before, only the counts of relevant
# events (with `Judge`, no search) were looked at before it was scored. Subjects the batches before it
# used little (the game master's reasons, reputation swings of a given size, queued fieldwork, a
# faction's reprimands, programmes funded, refused offers, promotions by mentor), in the same mix of kinds.
THIRTEENTH: Written = [
    ("meaning", "players docked reputation for skipping council hearings", {"action": "admin_reputation_adjustment", "payload": {"reason": "Missed three council hearings"}}, {}),
    ("meaning", "reputation given back after a scoring mistake", {"action": "admin_reputation_adjustment", "payload": {"reason": "Correction of a scoring error"}}, {}),
    ("meaning", "field trips waiting in the queue", {"action": "expedition_queued", "payload": {"expedition_type": "field"}}, {}),
    ("meaning", "conferences that ruined their author's standing", {"action": "conference_resolved", "payload": {"reputation_delta": -25}}, {}),
    ("meaning", "expeditions that did wonders for their leader's reputation", {"action": "expedition_resolved", "payload": {"reputation_delta": 15}}, {}),
    ("meaning", "players told off by the foreign faction after the symposium", {"action": "symposium_reprimand", "payload": {"faction": "foreign"}}, {}),
    ("meaning", "money for the young scholars' bursary", {"action": ["archive_endowment", "faction_investment"], "payload": {"program": "Young Scholars Bursary"}}, {}),
    ("meaning", "offers a scholar said no to", {"action": "negotiation_resolved", "payload": {"accepted": False}}, {}),
    ("meaning", "expeditions set off on a hunch", {"action": "launch_expedition", "payload": {"confidence": "suspect"}}, {}),
    ("meaning", "support pledged to the religious faction", {"action": "faction_investment", "payload": {"faction": "religion"}}, {}),
    ("sentence", "Which conferences did their authors stake their careers on?", {"action": "conference_launched", "payload": {"confidence": "stake_my_career"}}, {}),
    ("sentence", "Which field expeditions were put in the queue?", {"action": "expedition_queued", "payload": {"expedition_type": "field"}}, {}),
    ("sentence", "Which players were reprimanded by the industry faction?", {"action": "symposium_reprimand", "payload": {"faction": "industry"}}, {}),
    ("sentence", "Which scholars were poached by a rival lab?", {"action": "negotiation_resolved", "taken": "rival"}, {}),  # NEGOTIATION_READING
    _own("promotions of the scholars I mentor", {"action": "career_progression"}, "b.sato"),
    _own("my proposals for the symposium", {"action": "symposium_proposal_submitted"}, "lenka_h"),
    _own("money I gave the archive", {"action": "archive_endowment"}, "lenka_h"),
    ("time", "offers turned down", {"action": "negotiation_resolved", "payload": {"accepted": False}},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-10-01T00:00:00Z"}),
    ("time", "think tanks launched", {"action": "launch_expedition", "payload": {"type": "think_tank"}},
     {"occurred_after": "2025-09-10T00:00:00Z", "occurred_before": "2025-10-10T00:00:00Z"}),
    ("time", "scholars promoted to Director", {"action": "career_progression", "payload": {"new_tier": "Director"}},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-10-01T00:00:00Z"}),
]  # fmt: skip


# A fourteenth batch, written on 2026-12-04 once the thirteenth had judged its change (conference
# outcomes in the game's own words, not kept), before the next change was chosen; as before, only the
# counts of relevant events (with `Judge`, no search) were looked at before it was scored. Values and
# wordings the batches before it used little (the third option, a first reminder, the third rank:
# taken out since, LADDER_READING; the programmes money went to, bids matched, offers taken), in the
# same mix of kinds.
FOURTEENTH: Written = [
    ("meaning", "scholars who said yes to a rival's offer", {"action": "negotiation_resolved", "taken": "rival"}, {}),  # NEGOTIATION_READING
    ("meaning", "employers matching a rival's bid to keep a scholar", {"action": "counter_offer_created"}, {}),
    ("meaning", "the game master's adjustments to players' faction influence", {"action": "admin_influence_adjustment"}, {}),
    ("meaning", "money donated for the night observatory", {"action": ["archive_endowment", "faction_investment"], "payload": {"program": "Night Observatory"}}, {}),
    ("meaning", "votes for the third option at the symposium", {"action": "symposium_vote", "payload": {"vote_option": 3}}, {}),
    ("meaning", "investments in the field hospital", {"action": "faction_investment", "payload": {"program": "Field Hospital"}}, {}),
    ("meaning", "scholars reaching the very top of the ladder", {"action": "career_progression", "payload": {"new_tier": ["Professor", "Visionary"]}}, {}),  # LADDER_READING
    ("meaning", "a first reminder to vote in the symposium", {"action": "symposium_vote_reminder", "payload": {"reminder_level": "first"}}, {}),
    ("meaning", "conferences that won the audience over", {"action": "conference_resolved", "payload": {"outcome": "success"}}, {}),
    ("sentence", "Which players submitted theories they were certain of?", {"action": "submit_theory", "payload": {"confidence": "certain"}}, {}),
    ("sentence", "Which conferences were launched on a hunch?", {"action": "conference_launched", "payload": {"confidence": "suspect"}}, {}),
    ("sentence", "Which offers did scholars turn down?", {"action": "negotiation_resolved", "payload": {"accepted": False}}, {}),
    ("sentence", "Which players invested in the government faction?", {"action": "faction_investment", "payload": {"faction": "government"}}, {}),
    _own("my counter-offers", {"action": "counter_offer_created", "payload": {"patron": "amara.o"}}, "amara.o"),  # PARTIES_READING
    _own("expeditions of mine that went well", {"action": "expedition_resolved", "payload": {"result": ["success", "landmark"]}}, "priya_r"),
    _own("my symposium votes", {"action": "symposium_vote"}, "lenka_h"),
    ("time", "offers accepted", {"action": "negotiation_resolved", "payload": {"accepted": True}},
     {"occurred_after": "2025-09-15T00:00:00Z", "occurred_before": "2025-10-15T00:00:00Z"}),
    ("time", "conferences launched", {"action": "conference_launched"},
     {"occurred_after": "2025-09-20T00:00:00Z", "occurred_before": "2025-10-05T00:00:00Z"}),
    ("time", "scholars who turned up on expeditions", {"action": "scholar_sidecast"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-10-01T00:00:00Z"}),
]  # fmt: skip


# A fifteenth batch, written on 2026-12-04 once the fourteenth had judged its change (a negotiation's
# document saying whose offer was taken), before the next change was tried; as before, only the counts
# of relevant events (with `Judge`, no search) were looked at before it was scored. Values and
# wordings the batches before it used little (the programmes money went to, the season's opening grants,
# the mildest reprimands, recruiting for the church, faction projects, reputation lost on expeditions,
# the symposium's positions), in the same mix of kinds.
FIFTEENTH: Written = [
    ("meaning", "players who backed the proposition at the symposium", {"action": "symposium_vote", "payload": {"vote_option": 1}}, {}),
    ("meaning", "players who put money into the manuscript rescue", {"action": ["archive_endowment", "faction_investment"], "payload": {"program": "Manuscript Rescue"}}, {}),
    ("meaning", "the opening grants of influence for the season", {"action": "admin_influence_adjustment", "payload": {"reason": "Opening grant for the season"}}, {}),
    ("meaning", "players recruiting scholars for the church", {"action": "recruitment_attempt", "payload": {"faction": "religion"}}, {}),
    ("meaning", "faction projects set up by the council", {"action": "admin_create_faction_project"}, {}),
    ("meaning", "expeditions that cost their leader a great deal of reputation", {"action": "expedition_resolved", "payload": {"reputation_delta": -25}}, {}),
    ("meaning", "forgotten figures from the archives stepping into the spotlight", {"action": "sidecast_followup", "payload": {"arc": "archive_ghost", "phase": "spotlight"}}, {}),
    ("meaning", "gifts to the archive on behalf of industry", {"action": "archive_endowment", "payload": {"faction": "industry"}}, {}),
    ("meaning", "the mildest reprimands for missing the symposium", {"action": "symposium_reprimand", "payload": {"reprisal_level": 1}}, {}),
    ("meaning", "scholars taken into the government's service by recruitment", {"action": "recruitment_attempt", "payload": {"faction": "government", "success": True}}, {}),
    ("sentence", "Which players voted to oppose the proposition?", {"action": "symposium_vote", "payload": {"vote_option": 2}}, {}),
    ("sentence", "Which recruitment attempts for the government faction failed?", {"action": "recruitment_attempt", "payload": {"faction": "government", "success": False}}, {}),
    ("sentence", "Which expeditions were launched with thorough preparation and full certainty?", {"action": "launch_expedition", "payload": {"prep_depth": "deep", "confidence": "certain"}}, {}),
    ("sentence", "Which players gave money to the Translation Bureau?", {"action": ["archive_endowment", "faction_investment"], "payload": {"program": "Translation Bureau"}}, {}),
    _own("my scholars promoted to Director", {"action": "career_progression", "payload": {"new_tier": "Director"}}, "lenka_h"),
    _own("recruitments I won", {"action": "recruitment_attempt", "payload": {"success": True}}, "priya_r"),
    _own("my theories staked on my career", {"action": "submit_theory", "payload": {"confidence": "stake_my_career"}}, "teodor"),
    ("time", "promotions to Professor", {"action": "career_progression", "payload": {"new_tier": "Professor"}},
     {"occurred_after": "2025-09-15T00:00:00Z", "occurred_before": "2025-10-15T00:00:00Z"}),
    ("time", "negotiations resolved", {"action": "negotiation_resolved"},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-20T00:00:00Z"}),
    ("time", "expeditions queued", {"action": "expedition_queued"},
     {"occurred_after": "2025-09-20T00:00:00Z", "occurred_before": "2025-10-15T00:00:00Z"}),
]  # fmt: skip


# A sixteenth batch, written on 2026-12-04 once promotions and reprimands had been read right (found
# against the game's data, no batch judging it), before the next change was chosen; as before, only the
# counts of relevant events (with `Judge`, no search) were looked at before it was scored. Values and
# wordings the batches before it used little (kinds of expedition by their result, the game master
# taking reputation away, local juniors, the news of a faction's or a reputation's shift, theories
# drawn from a discovery, statements of regret, nicknames by player), in the same mix of kinds.
SIXTEENTH: Written = [
    ("meaning", "large team undertakings launched by players", {"action": "launch_expedition", "payload": {"type": "great_project"}}, {}),
    ("meaning", "the game master docking a player's reputation", {"action": "admin_reputation_adjustment", "payload": {"delta": list(range(-50, 0))}}, {}),
    ("meaning", "young local scholars making their first appearance", {"action": "sidecast_followup", "payload": {"arc": "local_junior", "phase": "debut"}}, {}),
    ("meaning", "think tanks whose research fell flat", {"action": "expedition_resolved", "payload": {"type": "think_tank", "result": "failure"}}, {}),
    ("meaning", "fieldwork that paid off", {"action": "expedition_resolved", "payload": {"type": "field", "result": "success"}}, {}),
    ("meaning", "a faction warming to a player after a discovery", {"press": "faction_shift"}, {}),
    ("meaning", "a player's standing raised by a landmark achievement", {"press": "reputation_shift"}, {}),
    ("meaning", "theories that grew out of an expedition's discovery", {"press": "discovery_theory"}, {}),
    ("meaning", "official statements regretting that a scholar left", {"press": "faction_statement", "text": "regret"}, {}),
    ("meaning", "gifts to the archive not earmarked for any programme", {"action": "archive_endowment", "payload": {"program": None}}, {}),
    ("sentence", "Which think tanks ended in a landmark discovery?", {"action": "expedition_resolved", "payload": {"type": "think_tank", "result": "landmark"}}, {}),
    ("sentence", "Which scholars did teodor give a nickname?", {"action": "nickname_adopted", "player": "teodor"}, {}),
    ("sentence", "Which scholars moved up to Visionary?", {"action": "career_progression", "payload": {"new_tier": "Visionary"}}, {}),
    ("sentence", "Why did the game master pause the game?", {"action": "game_paused"}, {}),
    _own("my think tanks that failed", {"action": "expedition_resolved", "payload": {"type": "think_tank", "result": "failure"}}, "amara.o"),
    _own("nicknames I gave to scholars", {"action": "nickname_adopted"}, "lenka_h"),
    _own("reputation the game master took from me", {"action": "admin_reputation_adjustment", "payload": {"delta": list(range(-50, 0))}}, "marguerite"),
    ("time", "scholars given nicknames", {"action": "nickname_adopted"},
     {"occurred_after": "2025-09-10T00:00:00Z", "occurred_before": "2025-09-30T00:00:00Z"}),
    ("time", "think tanks that failed", {"action": "expedition_resolved", "payload": {"type": "think_tank", "result": "failure"}},
     {"occurred_after": "2025-09-01T00:00:00Z", "occurred_before": "2025-09-20T00:00:00Z"}),
    ("time", "reputation changes made by the game master", {"action": "admin_reputation_adjustment"},
     {"occurred_after": "2025-09-20T00:00:00Z", "occurred_before": "2025-10-15T00:00:00Z"}),
]  # fmt: skip


# A seventeenth batch, written on 2026-12-04 once the sixteenth had judged its change (three documents
# in the game's own words), before the next change was chosen; as before, only the counts of relevant
# events (with `Judge`, no search) were looked at before it was scored. Values and wordings the
# batches before it used little (graduations, conferences launched with full confidence, fieldwork
# prepared with care, archive ghosts settling in, refusals on the defection wire, queued think tanks,
# a rival's poaching by name, a year by number), in the same mix of kinds.
SEVENTEENTH: Written = [
    ("meaning", "scholars graduating from their mentorship", {"press": "mentorship_update", "text": "phase: completion"}, {}),
    ("meaning", "conferences launched with complete confidence", {"action": "conference_launched", "payload": {"confidence": "certain"}}, {}),
    ("meaning", "fieldwork prepared with great care", {"action": "launch_expedition", "payload": {"type": "field", "prep_depth": "deep"}}, {}),
    ("meaning", "forgotten figures from the archives settling in", {"action": "sidecast_followup", "payload": {"arc": "archive_ghost", "phase": "integration"}}, {}),
    ("meaning", "the moment play started again after a pause", {"action": "game_resumed"}, {}),
    ("meaning", "recruiting for foreign academies that worked", {"action": "recruitment_attempt", "payload": {"faction": "foreign", "success": True}}, {}),
    ("meaning", "wires reporting a scholar who refused to defect", {"press": "defection_notice", "text": "refused"}, {}),
    ("meaning", "escalating reminders to vote in the symposium", {"action": "symposium_vote_reminder", "payload": {"reminder_level": "escalation"}}, {}),
    ("meaning", "think tanks queued up and waiting to start", {"action": "expedition_queued", "payload": {"expedition_type": "think_tank"}}, {}),
    ("meaning", "players putting influence behind the universities", {"action": "faction_investment", "payload": {"faction": "academia"}}, {}),
    ("sentence", "Which scholars did lenka_h try to poach?", {"action": "offer_created", "player": "lenka_h"}, {}),
    ("sentence", "When did the year 1930 begin?", {"action": "timeline_advanced", "payload": {"current_year": 1930}}, {}),
    ("sentence", "Which recruitment attempts for the religious faction succeeded?", {"action": "recruitment_attempt", "payload": {"faction": "religion", "success": True}}, {}),
    ("sentence", "Which mentorships did b.sato begin?", {"action": "mentorship_activated", "player": "b.sato"}, {}),
    _own("my conferences launched on a hunch", {"action": "conference_launched", "payload": {"confidence": "suspect"}}, "teodor"),
    _own("my failed recruitment attempts", {"action": "recruitment_attempt", "payload": {"success": False}}, "amara.o"),
    _own("scholars I moved to another track", {"action": "lab_assigned"}, "priya_r"),
    ("time", "conferences resolved", {"action": "conference_resolved"},
     {"occurred_after": "2025-09-10T00:00:00Z", "occurred_before": "2025-09-25T00:00:00Z"}),
    ("time", "theories submitted", {"action": "submit_theory"},
     {"occurred_after": "2025-10-01T00:00:00Z", "occurred_before": "2025-10-15T00:00:00Z"}),
    ("time", "expeditions resolved", {"action": "expedition_resolved"},
     {"occurred_after": "2025-09-20T00:00:00Z", "occurred_before": "2025-10-10T00:00:00Z"}),
]  # fmt: skip


def written() -> list[Judged]:
    """The hand-written queries: the first batch, every third one held out, then the fresh, third,
    fourth and sixth to seventeenth batches, held out whole, then the fifth, every other one held out."""
    first = [Judged(k, q, r, f, held_out=i % 3 == 2) for i, (k, q, r, f) in enumerate(WRITTEN)]
    later: tuple[tuple[Batch, Written], ...] = (
        ("fresh", FRESH),
        ("third", THIRD),
        ("fourth", FOURTH),
        ("sixth", SIXTH),
        ("seventh", SEVENTH),
        ("eighth", EIGHTH),
        ("ninth", NINTH),
        ("tenth", TENTH),
        ("eleventh", ELEVENTH),
        ("twelfth", TWELFTH),
        ("thirteenth", THIRTEENTH),
        ("fourteenth", FOURTEENTH),
        ("fifteenth", FIFTEENTH),
        ("sixteenth", SIXTEENTH),
        ("seventeenth", SEVENTEENTH),
    )
    whole = [Judged(k, q, r, f, held_out=True, batch=b) for b, batch in later for k, q, r, f in batch]
    fifth = [Judged(k, q, r, f, held_out=i % 2 == 1, batch="fifth") for i, (k, q, r, f) in enumerate(FIFTH)]
    return first + whole + fifth


def sampled(documents: list[DocumentBase], seed: int = 5) -> list[Judged]:
    """Names and codes drawn from the season: scholars by name, nicknames, expedition and conference
    codes. Relevant: the events naming the scholar (by id, or by the name in their words), naming the
    nickname in their words, or carrying the code (as their thread, or in their words)."""
    rng = random.Random(seed)
    names: dict[str, str] = {}
    nicknames: dict[str, str] = {}
    codes: set[str] = set()
    for d in documents:
        if d.action == "scholar_spawned" and isinstance(d.payload.get("name"), str):
            names[str(d.payload.get("id"))] = d.payload["name"]
        if d.action == "nickname_adopted" and isinstance(d.payload.get("nickname"), str):
            nicknames[str(d.payload.get("scholar_id"))] = d.payload["nickname"]
        if d.expedition_code:
            codes.add(d.expedition_code)
    queries = []
    for scholar in rng.sample(sorted(names), min(8, len(names))):
        queries.append(
            Judged("names", names[scholar], {"any": [{"scholar": scholar}, {"text": re.escape(names[scholar])}]})
        )
    for scholar in rng.sample(sorted(nicknames), min(3, len(nicknames))):
        nickname = nicknames[scholar]
        # the game gives one nickname to several scholars, and later events use the name, not the
        # nickname: what names the nickname is relevant, not every event of one of its bearers
        queries.append(Judged("names", f"the scholar nicknamed {nickname}", {"text": re.escape(nickname)}))
    expeditions = sorted(c for c in codes if not c.startswith("CONF-"))
    conferences = sorted(c for c in codes if c.startswith("CONF-"))
    for code in rng.sample(expeditions, min(6, len(expeditions))) + rng.sample(conferences, min(4, len(conferences))):
        queries.append(Judged("codes", code, {"any": [{"thread": code}, {"text": re.escape(code)}]}))
    return queries  # fmt: skip


def judged_set(documents: list[DocumentBase]) -> list[Judged]:
    return sampled(documents) + written()


class Judge:
    """Applies rules to the season's documents."""

    def __init__(self, documents: list[DocumentBase]) -> None:
        self.documents = documents
        self._threads: dict[str, set[str]] = defaultdict(set)
        for d in documents:
            if d.expedition_code:
                for player in d.player_ids:
                    self._threads[player].add(d.expedition_code)

    def relevant(self, judged: Judged) -> set[str]:
        return {
            d.event_id for d in self.documents if self._holds(judged.rule, d) and self._in_filters(judged.filters, d)
        }

    def _holds(self, rule: Rule, d: DocumentBase) -> bool:
        return all(self._clause(key, want, d) for key, want in rule.items())

    def _clause(self, key: str, want: Any, d: DocumentBase) -> bool:
        if key == "any":
            return any(self._holds(r, d) for r in want)
        if key == "action":
            return d.action in _listed(want)
        if key == "press":
            return d.action == "press_release" and d.subcategory in _listed(want)
        if key == "payload":
            return all(d.payload.get(k) in _listed(v) and type(d.payload.get(k)) is type(_listed(v)[0])
                       for k, v in want.items())  # fmt: skip
        if key == "text":
            return re.search(want, f"{d.title} {d.content}", re.IGNORECASE) is not None
        if key == "taken":
            return d.action == "negotiation_resolved" and _taken(d.payload) in _listed(want)
        if key == "player":
            return want in d.player_ids
        if key == "scholar":
            return want in d.scholar_ids
        if key == "thread":
            return bool(d.expedition_code == want)
        if key == "thread_of":
            return bool(want in d.player_ids or (d.expedition_code and d.expedition_code in self._threads[want]))
        raise ValueError(f"unknown rule key {key!r}")

    @staticmethod
    def _in_filters(filters: dict[str, str], d: DocumentBase) -> bool:
        after, before = filters.get("occurred_after"), filters.get("occurred_before")
        if after and d.occurred_at.isoformat() < after.replace("Z", "+00:00"):
            return False
        return not (before and d.occurred_at.isoformat() >= before.replace("Z", "+00:00"))


def _taken(payload: dict[str, Any]) -> str:
    """Whose offer a negotiation's scholar took: `rival`, `counter` or `none` (the `taken` rule); a best
    offer outside its chain is neither (`unknown`)."""
    chain, best = payload.get("offer_chain") or [], payload.get("best_offer")
    if payload.get("accepted") is not True:
        return "none"
    if best not in chain:
        return "unknown"
    return "rival" if best == chain[0] else "counter"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

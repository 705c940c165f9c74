"""The words of a document: one renderer per action turns a payload into a title and a sentence.

The content must stand on its own when an analyst or an agent reads one hit: who, what, when, why and
how, with ids spelled as the game spells them, so both meaning and exact names can be searched.
A renderer gets the payload as a `Fields` view that never raises on a missing or odd value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Final

Renderer = Callable[["Fields"], tuple[str, str]]


class Fields:
    """Read-only access to a payload that tolerates missing keys and odd types."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self._payload = payload

    def text(self, key: str, default: str = "unknown") -> str:
        """The value as text; `default` when absent or null."""
        value = self._payload.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    def opt(self, key: str) -> str | None:
        """The value as text, or None when absent."""
        value = self._payload.get(key)
        return None if value is None or value == "" else str(value)

    def items(self, key: str) -> list[str]:
        """A list value as texts (names, ids); an absent or non-list value is empty."""
        value = self._payload.get(key)
        if not isinstance(value, list):
            return []
        return [label(item) for item in value if item is not None]

    def mapping(self, key: str) -> dict[str, Any]:
        """A dict value; an absent or non-dict value is empty."""
        value = self._payload.get(key)
        return value if isinstance(value, dict) else {}

    def raw(self, key: str) -> Any:
        """The value as stored."""
        return self._payload.get(key)


def label(value: Any) -> str:
    """How an id reads in prose: a scholar id `s.ibarra` reads `Ibarra (s.ibarra)`."""
    if isinstance(value, dict):
        name = value.get("name") or value.get("id") or value.get("scholar")
        return label(name) if name is not None else ", ".join(f"{k}={v}" for k, v in value.items())
    text = str(value)
    if text.startswith("s.") and not text.startswith("s.proc-") and len(text) > 2:
        return f"{text[2:].replace('_', ' ').title()} ({text})"
    return text


def scholar(fields: Fields, key: str = "scholar") -> str:
    """The scholar named by `key`, as prose."""
    return label(fields.text(key))


def joined(values: Iterable[str], empty: str = "none") -> str:
    """A list in prose."""
    items = [v for v in values if v]
    return ", ".join(items) if items else empty


def mapping_text(value: dict[str, Any]) -> str:
    """A small dict in prose: `academia 3, industry 1`."""
    return ", ".join(f"{k} {v}" for k, v in value.items()) if value else "none"


# --- what the game's coded values mean, in the words people use -----------------------------------

_CONFIDENCE = {
    "suspect": "suspect: a hunch, with little reputation at stake",
    "certain": "certain: the author is sure of it and risks reputation",
    "stake_my_career": "stake_my_career: the author staked their career on it, the highest stake",
}
#: The same, as few words as a title can carry: what the author bet on it.
_STAKE = {"suspect": "a hunch", "certain": "sure of it", "stake_my_career": "a career staked on it"}
_EXPEDITION_RESULT = {
    "failure": "failure: the expedition failed",
    "partial": "partial: a partial success",
    "success": "success: the expedition succeeded",
    "landmark": "landmark: a landmark discovery, the best possible outcome",
}
_CONFERENCE_OUTCOME = {
    "failure": "failure: the conference went badly for its author",
    "partial": "partial: a mixed reception",
    "success": "success: the conference went well for its author",
}
#: Two tracks of two ranks each; a scholar moved onto the other track starts its ranks anew.
_TIER = {
    "Fellow": "Fellow, the first rank of the academic track",
    "Professor": "Professor, the second and highest rank of the academic track",
    "Director": "Director, the first rank of the industry track",
    "Visionary": "Visionary, the second and highest rank of the industry track",
}
_PREP = {"shallow": "shallow (little preparation)", "deep": "deep (thorough preparation)"}
_EXPEDITION_TYPE = {
    "field": "field: fieldwork, an expedition out in the field",
    "think_tank": "think_tank: a think tank, research done at the desk",
    "great_project": "great_project: a great project, a large team undertaking",
}
_TRACK = {
    "Academia": "Academia (university research)",
    "Industry": "Industry (work for companies)",
}
#: The same values in the few words a title can carry.
_KIND_SHORT = {"field": "fieldwork", "think_tank": "a think tank", "great_project": "a great project"}
_PREP_SHORT = {"shallow": "little preparation", "deep": "thorough preparation"}
_TRACK_SHORT = {"Academia": "towards university research", "Industry": "towards work for companies"}
_FOLLOWUP_KIND = {
    "dignitary_contract": "dignitary_contract: a contract with a visiting dignitary",
    "industrial_contract": "industrial_contract: a contract with industry",
    "logistics_resupply": "logistics_resupply: fresh supplies for an expedition",
    "recruitment_grudge": "recruitment_grudge: a scholar's grudge after a failed recruitment",
}
_SIDECAST_ARC = {
    "archive_ghost": "archive_ghost: a forgotten figure from the archives",
    "local_junior": "local_junior: a local junior scholar",
}
#: Phases of a sidecast's arc and of a mentorship (press metadata `phase`).
_PHASE = {
    "debut": "debut: a first appearance",
    "integration": "integration: settling in with a team",
    "spotlight": "spotlight: in the spotlight",
    "queued": "queued: planned, waiting to start",
    "activation": "activation: begun",
    "progression": "progression: under way",
    "completion": "completion: finished",
}
_REMINDER = {
    "first": "first: a first reminder",
    "escalation": "escalation: a second, sterner reminder",
}
#: Press metadata fields whose values are codes, with what each code means.
_METADATA_MEANING = {
    "outcome": _EXPEDITION_RESULT,
    "expedition_type": _EXPEDITION_TYPE,
    "prep_depth": _PREP,
    "track": _TRACK,
    "arc": _SIDECAST_ARC,
    "phase": _PHASE,
    "reminder_level": _REMINDER,
    "opportunity": _FOLLOWUP_KIND,
}


def meaning(fields: Fields, key: str, glossary: dict[str, str]) -> str:
    """A coded value with what it means (`stake_my_career: the author staked their career on it`);
    a value the glossary does not know reads as itself."""
    value = fields.text(key)
    return glossary.get(value, value)


def _gloss(fields: Fields, key: str, glossary: dict[str, str]) -> str:
    """What a coded value means, without the code (`a local junior scholar`); an unknown one reads as itself."""
    value = fields.text(key)
    return glossary[value].split(": ", 1)[-1] if value in glossary else value


def change(fields: Fields, key: str, what: str) -> str:
    """A signed change in words, after its subject: `lost 5 reputation`, `gained 3 reputation`, `saw no
    change in reputation`; a value that is not a number reads as itself."""
    delta = fields.raw(key)
    if isinstance(delta, bool) or not isinstance(delta, int | float):
        return f"saw their {what} change by {fields.text(key)}"
    if delta == 0:
        return f"saw no change in {what}"
    return f"{'gained' if delta > 0 else 'lost'} {abs(delta)} {what}"


# --- press ---------------------------------------------------------------------------------------


_EPILOGUE = "how a scholar's defection, or refusal to defect, ended"
#: What each kind of press release the game writes is, in a few plain words.
_PRESS_KIND = {
    "academic_gossip": "gossip: what someone was heard saying",
    "academic_bulletin": "a bulletin of new theories and claims",
    "retraction_notice": "a notice about an expedition's result, headed as a retraction",
    "discovery_report": "the report of an expedition's findings",
    "research_manifesto": "a player announces an expedition's plan",
    "defection_notice": "a rival's offer to a scholar, and the scholar's answer",
    "faction_statement": "an official statement",
    "table_talk": "a player's message in the open chat",
    "mentorship_update": "news of a mentorship, from its start to its end",
    "seasonal_commitment_update": "news of a player's seasonal pact with a faction",
    "table_talk_digest": "a digest of what players said in the open chat",
    "table_talk_roundup": "a roundup of what players said in the open chat",
    "faction_shift": "a player's standing with a faction changed",
    "digest_highlights": "the digest of the period's top stories",
    "negotiation": "offers and counter-offers for a scholar",
    "recruitment_report": "a report on a recruitment attempt and its odds",
    "recruitment_followup": "what followed a recruitment attempt",
    "recruitment_brief": "a short brief on a recruitment attempt",
    "symposium_reminder": "a reminder to vote in the symposium",
    "sidecast_brief": "news of a new scholar who came into the game through an expedition",
    "admin_action": "an action of the game master",
    "reputation_shift": "a player's reputation changed",
    "discovery_theory": "a theory drawn from an expedition's discovery",
    "negotiation_resolved": "how a contest of offers for a scholar ended",
    "timeline_update": "a new year began",
    "faction_investment": "a player invested in a faction",
    "landmark_preparation": "a team prepares an expedition for a landmark find",
    "symposium_proposal": "a topic proposed for the symposium",
    "archive_endowment": "a gift to the archive",
    "symposium_reprimand": "a player reprimanded by a faction over an unpaid debt",
    "opportunity_unlocked": "a new opportunity opened to a player",
    "faction_project_update": "progress on a faction's project",
    "conference_scheduled": "a conference announced",
    "symposium_announcement": "a topic announced for the symposium to debate",
    "scholar_grudge": "a scholar holds a grudge after a failed recruitment",
    "archive_digest": "a look back through the archive's records",
    "symposium_resolution": "the symposium's result",
    "admin_update": "the game paused or resumed by the game master",
    "seasonal_commitment_complete": "a player's seasonal pact with a faction was completed",
    "faction_project_complete": "a faction's project was finished",
    "defection_epilogue": _EPILOGUE,
    "defection_epilogue_brief": _EPILOGUE,
    "analysis": "an analysis of a topic",
}


#: A blank the game left in a headline it wrote ("Table Talk Digest — {speaker}").
_BLANK: Final = re.compile(r"\{(\w{1,40})\}")
#: Most blanks filled in one text, and the longest value filled in: a name, a faction, an id. So a
#: record of many blanks and one long value cannot make a document many times its own size.
MAX_BLANKS: Final = 16
MAX_BLANK_CHARS: Final = 100


def filled(text: str, metadata: dict[str, Any]) -> str:
    """The text with each blank the game left unfilled ("{speaker}") filled from the press release's own
    metadata, where it holds that key as a short plain value (`MAX_BLANK_CHARS`; the first `MAX_BLANKS`
    blanks); other blanks stay as the game wrote them."""

    def value(blank: re.Match[str]) -> str:
        found = metadata.get(blank[1])
        if isinstance(found, int) and not isinstance(found, bool) and abs(found) < 10**MAX_BLANK_CHARS:
            found = str(found)  # (a larger int could not even be written out: Python refuses huge ones)
        return found if isinstance(found, str) and 0 < len(found) <= MAX_BLANK_CHARS else blank[0]

    return _BLANK.sub(value, text, count=MAX_BLANKS)


def _press_kind(press_type: str) -> str:
    """`retraction_notice: a notice about ...`: the kind with what it is, when the game's catalogue lists it."""
    return f"{press_type}: {_PRESS_KIND[press_type]}" if press_type in _PRESS_KIND else press_type


def _press_release(f: Fields) -> tuple[str, str]:
    press_type = f.text("type", "press")
    metadata = f.mapping("metadata")
    headline = filled(f.text("headline"), metadata)
    title = f"{press_type.replace('_', ' ').upper()}: {headline}"
    details = _press_metadata(metadata)
    body = filled(f.text("body", ""), metadata)
    kind = _press_kind(press_type)
    sentence = f"Press release ({kind}). Headline: {headline}. {body}".strip()
    if details:
        sentence += f" Details: {details}."
    return title, sentence


_PRESS_METADATA_SKIPPED = {"tone_seed", "scheduled", "relationship_snapshot", "relationship_details"}


def _press_metadata(metadata: dict[str, Any]) -> str:
    parts = []
    for key, value in metadata.items():
        if key in _PRESS_METADATA_SKIPPED or value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = joined(label(v) for v in value)
        elif isinstance(value, dict):
            value = mapping_text(value)
        elif key in {"scholar", "scholar_id"}:
            value = label(value)
        elif key in _METADATA_MEANING and isinstance(value, str):
            value = _METADATA_MEANING[key].get(value, value)
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def _press_scheduled(f: Fields) -> tuple[str, str]:
    return (
        f"PRESS SCHEDULED: {f.text('headline')}",
        f"A press item was scheduled for release at {f.text('release_at')} "
        f"({f.text('layer_type', 'press')} layer). Headline: {f.text('headline')}.",
    )


def _scheduled_press_released(f: Fields) -> tuple[str, str]:
    return (
        f"PRESS RELEASED: {f.text('headline')}",
        f"A scheduled press item was released (due {f.text('release_at')}). Headline: {f.text('headline')}.",
    )


def _digest_highlights_generated(f: Fields) -> tuple[str, str]:
    return (
        f"DIGEST: {f.text('headline')}",
        f"The digest highlights were generated with {f.text('item_count')} items. Headline: {f.text('headline')}.",
    )


def _press_shared(f: Fields) -> tuple[str, str]:
    return (
        f"PRESS SHARED by {f.text('player_id')}",
        f"Player {f.text('player_id')} shared press item #{f.text('press_id')} with the other players: "
        f"{f.text('headline')}.",
    )


def _sideways_press_scheduled(f: Fields) -> tuple[str, str]:
    return (
        f"SIDEWAYS PRESS {f.text('order_code')}: {f.text('headline')}",
        f"Order {f.text('order_code')} scheduled a press release ({_press_kind(f.text('type'))}) in "
        f"{f.text('delay_minutes')} minutes. Headline: {f.text('headline')}.",
    )


# --- expeditions ---------------------------------------------------------------------------------


def _expedition_plan(f: Fields, player_key: str, type_key: str, verb: str) -> tuple[str, str]:
    code, kind = f.text("code"), meaning(f, type_key, _EXPEDITION_TYPE)
    sentence = (
        f"EXPEDITION {code} ({kind}) {verb} by player {f.text(player_key)}: "
        f"objective: {f.text('objective')}. Team: {joined(f.items('team'))}. "
        f"Funding: {joined(f.items('funding'))}."
    )
    if f.opt("prep_depth") or f.opt("confidence"):
        prep, confidence = meaning(f, "prep_depth", _PREP), meaning(f, "confidence", _CONFIDENCE)
        sentence += f" Preparation: {prep}; confidence: {confidence}."
    title = f"Expedition {code} ({meaning(f, type_key, _KIND_SHORT)}) {verb}{_said(f, 'prep_depth', _PREP_SHORT)}"
    return title + _staked(f), sentence


def _staked(f: Fields) -> str:
    """`, a hunch` for a title: the author's stake in a theory, a conference or an expedition."""
    return _said(f, "confidence", _STAKE)


def _said(f: Fields, key: str, short: dict[str, str]) -> str:
    """`, <the value in a few words>` for a title, or nothing when the game wrote no value it knows."""
    words = short.get(f.text(key, ""))
    return f", {words}" if words else ""


def _expedition_queued(f: Fields) -> tuple[str, str]:
    return _expedition_plan(f, "player_id", "expedition_type", "queued (planned, waiting to set off)")


def _launch_expedition(f: Fields) -> tuple[str, str]:
    return _expedition_plan(f, "player", "type", "launched")


def _expedition_resolved(f: Fields) -> tuple[str, str]:
    code, result = f.text("code"), f.text("result")
    return (
        f"Expedition {code} ({meaning(f, 'type', _KIND_SHORT)}) resolved: {result}{_staked(f)}",
        f"EXPEDITION {code} ({meaning(f, 'type', _EXPEDITION_TYPE)}) led by player {f.text('player')} resolved. "
        f"Outcome: {meaning(f, 'result', _EXPEDITION_RESULT)}; roll {f.text('roll')} with modifier "
        f"{f.text('modifier')} for a final {f.text('final')} (confidence: {meaning(f, 'confidence', _CONFIDENCE)}). "
        f"The leader {change(f, 'reputation_delta', 'reputation')}, now {f.text('reputation_after')}.",
    )


def _scholar_sidecast(f: Fields) -> tuple[str, str]:
    """A sidecast is a new scholar the game brings in through an expedition (met on it, not one of its
    team), with a side story of their own (`sidecast_followup`)."""
    return (
        f"New scholar sidecast from {f.text('expedition')}",
        f"A new scholar, {scholar(f)}, came into the game through expedition {f.text('expedition')} (a "
        "sidecast): met on the expedition, not one of its team, they join the roster with a side story of "
        "their own.",
    )


def _sideways_order_scheduled(f: Fields) -> tuple[str, str]:
    return (
        f"Sideways order {f.text('order_code')} scheduled",
        f"Order {f.text('order_code')} ({f.text('order_type')}) was scheduled to run in "
        f"{f.text('delay_minutes')} minutes.",
    )


def _admin_cancel_expedition(f: Fields) -> tuple[str, str]:
    return (
        f"Expedition {f.text('expedition_code')} cancelled by admin",
        f"Admin {f.text('admin')} cancelled expedition {f.text('expedition_code')}. Reason: {f.text('reason')}.",
    )


# --- theories and conferences --------------------------------------------------------------------


def _submit_theory(f: Fields) -> tuple[str, str]:
    return (
        f"Theory submitted by {f.text('player')}{_staked(f)}",
        f'Player {f.text("player")} submitted a theory: "{f.text("theory")}" '
        f"(confidence: {meaning(f, 'confidence', _CONFIDENCE)}; supporters: {joined(f.items('supporters'))}; "
        f"deadline {f.text('deadline')}).",
    )


def _conference_launched(f: Fields) -> tuple[str, str]:
    return (
        f"Conference {f.text('code')} launched{_staked(f)}",
        f"CONFERENCE {f.text('code')} launched by player {f.text('player')} on theory "
        f"#{f.text('theory_id')} (confidence: {meaning(f, 'confidence', _CONFIDENCE)}). Supporters: "
        f"{joined(f.items('supporter_names') or f.items('supporters'))}. Opposition: "
        f"{joined(f.items('opposition_names') or f.items('opposition'))}.",
    )


def _conference_resolved(f: Fields) -> tuple[str, str]:
    return (
        f"Conference {f.text('code')} resolved: {f.text('outcome')}",
        f"CONFERENCE {f.text('code')} resolved with outcome {meaning(f, 'outcome', _CONFERENCE_OUTCOME)} "
        f"(final roll {f.text('final_roll')}); the author {change(f, 'reputation_delta', 'reputation')}.",
    )


# --- scholars ------------------------------------------------------------------------------------


def _scholar_spawned(f: Fields) -> tuple[str, str]:
    return (
        f"Scholar {f.text('name')} appears",
        f"A new scholar, {f.text('name')} ({f.text('id')}), joined the roster (origin: "
        f"{meaning(f, 'origin', {'roster_fill': 'roster_fill: to fill an empty place on the roster'})}).",
    )


def _scholar_retired(f: Fields) -> tuple[str, str]:
    return (
        f"Scholar {f.text('scholar')} retired",
        f"Scholar {scholar(f)} retired. Reason: {f.text('reason')}.",
    )


def _career_progression(f: Fields) -> tuple[str, str]:
    return (
        f"{f.text('scholar')} promoted to {f.text('new_tier')}",
        f"Scholar {scholar(f)} was promoted to {meaning(f, 'new_tier', _TIER)}, mentored by player {f.text('mentor')}.",
    )


def _recruitment_attempt(f: Fields) -> tuple[str, str]:
    won = f.raw("success") is True
    verdict = "succeeded" if won else "failed"
    result = "succeeded: the scholar joined" if won else "failed: the scholar turned them down"
    return (
        f"Recruitment of {f.text('scholar')} for {f.text('faction')} {verdict}",
        f"Player {f.text('player')} tried to recruit scholar {scholar(f)} for the {f.text('faction')} "
        f"faction and {result} (chance {f.text('chance')}, influence bonus {f.text('influence_bonus')}, "
        f"cooldown penalty {f.text('cooldown_penalty')}).",
    )


def _mentorship_queued(f: Fields) -> tuple[str, str]:
    return (
        f"Mentorship of {f.text('scholar')} queued{_said(f, 'career_track', _TRACK_SHORT)}",
        f"Player {f.text('player')} queued mentorship #{f.text('mentorship_id')} of scholar {scholar(f)} "
        f"on the {meaning(f, 'career_track', _TRACK) if f.opt('career_track') else 'current'} track.",
    )


def _mentorship_activated(f: Fields) -> tuple[str, str]:
    return (
        f"Mentorship of {f.text('scholar')} begins",
        f"Player {f.text('player')} began mentoring scholar {scholar(f)} (mentorship #{f.text('mentorship_id')}).",
    )


def _followup_resolved(f: Fields) -> tuple[str, str]:
    return (
        f"Follow-up {f.text('kind')} resolved for {f.text('scholar')}: {_gloss(f, 'kind', _FOLLOWUP_KIND)}",
        f"A follow-up (order #{f.text('order_id')}) involving scholar {scholar(f)} was resolved: "
        f"{meaning(f, 'kind', _FOLLOWUP_KIND)}.",
    )


def _offer_created(f: Fields) -> tuple[str, str]:
    return (
        f"Offer #{f.text('offer_id')} for {f.text('scholar')}",
        f"Rival player {f.text('rival')} made offer #{f.text('offer_id')} to poach scholar {scholar(f)} "
        "(to hire them away from their current employer), "
        f"with influence {mapping_text(f.mapping('influence'))}.",
    )


def _counter_offer_created(f: Fields) -> tuple[str, str]:
    return (
        f"Counter-offer #{f.text('counter_offer_id')}",
        f"Patron player {f.text('patron')}, the scholar's current employer, countered offer "
        f"#{f.text('original_offer_id')} to keep the scholar, with counter-offer "
        f"#{f.text('counter_offer_id')}, with influence {mapping_text(f.mapping('influence'))}.",
    )


def _taken(f: Fields) -> tuple[str, str, str]:
    """Whose offer a negotiation's scholar took: (the title's few words, whose offer the best one was,
    what became of it). The first offer of the chain is the rival's, a later one the employer's
    counter-offer, and then the scholar stays (the game's press: "Remains with" the employer); a best
    offer outside the chain claims neither."""
    chain, best = f.raw("offer_chain"), f.raw("best_offer")
    chained = isinstance(chain, list) and type(best) is int and best in chain
    if f.raw("accepted") is not True:
        return "all offers rejected", "", "rejected, as were all offers: the scholar stayed with their current patron"
    if chained and chain[0] == best:
        return "the rival's offer accepted", ", the rival's offer,", "accepted: the scholar changed sides"
    if chained:
        return (
            "the counter-offer accepted",
            ", the employer's counter-offer,",
            "accepted: the scholar stayed with their employer",
        )
    return "offer accepted", "", "accepted"


def _negotiation_resolved(f: Fields) -> tuple[str, str]:
    verdict, whose, result = _taken(f)
    return (
        f"Negotiation resolved: {verdict}",
        f"A negotiation over offers {joined(f.items('offer_chain'))} was resolved: best offer "
        f"#{f.text('best_offer')}{whose} was {result} (probability {f.text('probability')}, roll {f.text('roll')}).",
    )


def _nickname_adopted(f: Fields) -> tuple[str, str]:
    return (
        f'{f.text("scholar_id")} nicknamed "{f.text("nickname")}"',
        f'Player {f.text("player_id")} gave scholar {label(f.text("scholar_id"))} the nickname "{f.text("nickname")}".',
    )


def _sidecast_followup(f: Fields) -> tuple[str, str]:
    return (
        f"Sidecast {f.text('arc')} {f.text('phase')} for {f.text('scholar')}: {_gloss(f, 'arc', _SIDECAST_ARC)}, "
        f"{_gloss(f, 'phase', _PHASE)}",
        f"The side story of scholar {scholar(f)}, who came into the game through an expedition (a sidecast), "
        f"went on, sponsored by player {f.text('sponsor')}. Arc: {meaning(f, 'arc', _SIDECAST_ARC)}; phase: "
        f"{meaning(f, 'phase', _PHASE)}.",
    )


def _lab_assigned(f: Fields) -> tuple[str, str]:
    return (
        f"{f.text('scholar')} moved to {f.text('career_track')}",
        f"Player {f.text('player')} assigned scholar {scholar(f)} to the {meaning(f, 'career_track', _TRACK)} "
        f"track (from {f.text('old_track')}).",
    )


def _defection_epilogue(f: Fields) -> tuple[str, str]:
    """`reconciliation`: the scholar left and makes peace with the old employer; `rivalry` (and any
    other scenario): the defection was refused, the scholar stayed and the courting turned to rivalry."""
    former, new = f.text("former_faction"), f.text("new_faction")
    if f.text("scenario") == "reconciliation":
        what = f"who defected (left {former} and changed sides, to the {new} faction), makes peace with {former}"
    else:
        what = f"who refused to leave {former} for the {new} faction, stays: the courting ends in rivalry"
    return (
        f"Defection epilogue ({f.text('scenario')}) for {f.text('scholar')}",
        f"Epilogue ({f.text('scenario')}) of scholar {scholar(f)}, {what}.",
    )


def _defection_evaluated(f: Fields) -> tuple[str, str]:
    outcome, new = f.text("outcome"), f.text("new_faction")
    result = (
        f" and defected: left their employer and changed sides, joining the {new} faction"
        if outcome == "defected"
        else f": {outcome}"  # any other outcome as the game wrote it
    )
    return (
        f"Defection of {f.text('scholar')}: {outcome}",
        f"Scholar {scholar(f)} was weighed for defection to the {new} faction{result} "
        f"(probability {f.text('probability')}, roll {f.text('roll')}).",
    )


def _admin_force_defection(f: Fields) -> tuple[str, str]:
    return (
        f"Admin forced {f.text('scholar')} to defect",
        f"Admin {f.text('admin')} forced scholar {scholar(f)} to defect: to leave their employer and change "
        f"sides, joining the {f.text('new_faction')} faction. Reason: {f.text('reason')}.",
    )


# --- symposium -----------------------------------------------------------------------------------


def _symposium_vote_reminder(f: Fields) -> tuple[str, str]:
    return (
        f"Symposium vote reminder for {f.text('player')}: {_gloss(f, 'reminder_level', _REMINDER)}",
        f"Player {f.text('player')} was reminded ({meaning(f, 'reminder_level', _REMINDER)}) to vote on "
        f"symposium topic #{f.text('topic_id')}; pledge {f.text('pledge_amount')}.",
    )


#: The symposium's options, as the game's announcement of every topic lists them ("Option 1: Support
#: the proposition", ...), and what each asks, in the few words a title carries.
_OPTION = {"1": "to support the proposition", "2": "to oppose the proposition", "3": "to call for further study"}


def _option(f: Fields, key: str) -> tuple[str, str]:
    """(`option 2 (to oppose the proposition)`, `to oppose the proposition`); an option the game's
    announcements do not list reads as its number alone."""
    number = f.text(key)
    asked = _OPTION.get(number)
    return (f"option {number} ({asked})", asked) if asked else (f"option {number}", f"option {number}")


def _proposal(f: Fields) -> str:
    """`proposal #5`, or `not from a player's proposal` for a topic with none (the game's own)."""
    number = f.opt("proposal_id")
    return f"proposal #{number}" if number else "not from a player's proposal"


def _symposium_vote(f: Fields) -> tuple[str, str]:
    option, asked = _option(f, "vote_option")
    return (
        f"Symposium vote by {f.text('player')}, {asked}",
        f"Player {f.text('player')} voted for {option} on symposium topic "
        f"#{f.text('topic_id')} ({_proposal(f)}; pledge {f.text('pledge_status')}).",
    )


def _symposium_proposal_submitted(f: Fields) -> tuple[str, str]:
    return (
        f"Symposium proposal: {f.text('topic')}",
        f'Player {f.text("player")} proposed the symposium topic "{f.text("topic")}" '
        f"(proposal #{f.text('proposal_id')}, expires {f.text('expires_at')}).",
    )


def _symposium_reprimand(f: Fields) -> tuple[str, str]:
    return (
        f"Symposium reprimand for {f.text('player')}",
        f"Player {f.text('player')} was reprimanded by the {f.text('faction')} faction over a debt owed to it, "
        f"a symposium reprisal (reprisal level {f.text('reprisal_level')}, outstanding debt {f.text('remaining')}).",
    )


def _symposium_started(f: Fields) -> tuple[str, str]:
    return (
        f"Symposium opens: {f.text('topic')}",
        f'The symposium on "{f.text("topic")}" (topic #{f.text("topic_id")}, {_proposal(f)}) opened. '
        f"Pledges: {_pledges(f.mapping('pledges'))}.",
    )


def _pledges(pledges: dict[str, Any]) -> str:
    """`lenka_h 2 (academia)` for each pledge; the game writes a dict of pledge records per player."""
    parts = []
    for player, pledge in pledges.items():
        if isinstance(pledge, dict):
            faction = f" ({pledge['faction']})" if pledge.get("faction") else ""
            parts.append(f"{pledge.get('display_name') or player} {pledge.get('amount', '?')}{faction}")
        else:
            parts.append(f"{player} {pledge}")
    return ", ".join(parts) if parts else "none"


def _votes(votes: dict[str, Any]) -> str:
    """`5 for option 1, 1 for option 3`: the game writes the count of votes by option number."""
    return ", ".join(f"{count} for option {option}" for option, count in votes.items()) if votes else "none"


def _symposium_resolved(f: Fields) -> tuple[str, str]:
    option, _ = _option(f, "winner")
    return (
        f"Symposium result, topic #{f.text('topic_id')}: {option} won",
        f"The symposium on topic #{f.text('topic_id')} ({_proposal(f)}) has concluded. Result: "
        f"{option} won. Votes: {_votes(f.mapping('votes'))}. Non-voters: "
        f"{joined(f.items('non_voters'))}. Penalties: {joined(f.items('penalties'))}.",
    )


# --- game state ----------------------------------------------------------------------------------


def _table_talk_post(f: Fields) -> tuple[str, str]:
    speaker = f.opt("display_name") or f.text("player")
    return (
        f"Table talk post from {speaker}",
        f'{speaker} (player {f.text("player")}) posted at the table, in the players\' open chat: "{f.text("message")}"',
    )


def _timeline_advanced(f: Fields) -> tuple[str, str]:
    return (
        f"The year is now {f.text('current_year')}",
        f"The timeline advanced by {f.text('years_elapsed')} year(s): a new year began, and the game's calendar "
        f"now reads {f.text('current_year')}.",
    )


def _faction_investment(f: Fields) -> tuple[str, str]:
    return (
        f"{f.text('player')} invests in {f.text('faction')}",
        f"Player {f.text('player')} invested {f.text('amount')} in the {f.text('faction')} faction"
        f" (program: {f.text('program', 'none')}; total {f.text('total')}).",
    )


def _archive_endowment(f: Fields) -> tuple[str, str]:
    return (
        f"{f.text('player')} endows the archive",
        f"Player {f.text('player')} endowed the archive: gave it {f.text('amount')} influence from the "
        f"{f.text('faction')} faction's reserves (program: {f.text('program', 'none')}; paid debt "
        f"{f.text('paid_debt')}; reputation gain {f.text('reputation_gain')}).",
    )


def _admin_adjustment(what: str) -> Renderer:
    def render(f: Fields) -> tuple[str, str]:
        faction = f" with the {f.text('faction')} faction" if f.opt("faction") else ""
        return (
            f"Admin adjusts {what} of {f.text('player')}",
            f"Admin {f.text('admin')} changed the {what} of player {f.text('player')}{faction}: the player "
            f"{change(f, 'delta', what)} (from {f.text('old')} to {f.text('new')}). Reason: {f.text('reason')}.",
        )

    return render


def _admin_create_faction_project(f: Fields) -> tuple[str, str]:
    return (
        f"Faction project {f.text('name')} created",
        f'Admin {f.text("admin")} created faction project #{f.text("project_id")} "{f.text("name")}" for the '
        f"{f.text('faction')} faction (target progress {f.text('target_progress')}). Reason: {f.text('reason')}.",
    )


def _admin_update(subject: str, id_key: str) -> Renderer:
    def render(f: Fields) -> tuple[str, str]:
        return (
            f"{subject} #{f.text(id_key)} {f.text('status')}",
            f"Admin {f.text('admin')} set {subject.lower()} #{f.text(id_key)} to {f.text('status')}. "
            f"Reason: {f.text('reason')}.",
        )

    return render


def _admin_create_seasonal_commitment(f: Fields) -> tuple[str, str]:
    return (
        f"Seasonal commitment for {f.text('player')}",
        f"Admin {f.text('admin')} created seasonal commitment #{f.text('commitment_id')} binding player "
        f"{f.text('player')} to the {f.text('faction')} faction (tier {f.text('tier', 'none')}). "
        f"Reason: {f.text('reason')}.",
    )


def _admin_cancel_order(f: Fields) -> tuple[str, str]:
    return (
        f"Order #{f.text('id')} cancelled",
        f"Order #{f.text('id')} ({f.text('order_type')}) by {f.text('actor_id')} about {f.text('subject_id')} "
        f"was cancelled. Reason: {f.text('reason')}.",
    )


def _game_paused(f: Fields) -> tuple[str, str]:
    return (
        "Game paused",
        f"Admin {f.text('admin')} paused the game ({f.text('source')}). Reason: {f.text('reason')}.",
    )


def _game_resumed(f: Fields) -> tuple[str, str]:
    return (
        "Game resumed",
        f"Admin {f.text('admin')} resumed the game, which had been paused for: {f.text('previous_reason')}.",
    )


def render_generic(action: str, f: Fields, payload: dict[str, Any]) -> tuple[str, str]:
    """An action with no renderer of its own: its name and its fields, in order."""
    words = action.replace("_", " ")
    parts = []
    for key, value in payload.items():
        if isinstance(value, dict):
            value = mapping_text(value)
        elif isinstance(value, list):
            value = joined(label(v) for v in value)
        else:
            value = label(value)
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return words.capitalize(), f"Game event {words}. " + "; ".join(parts) + ("." if parts else "")


RENDERERS: dict[str, Renderer] = {
    "press_release": _press_release,
    "press_scheduled": _press_scheduled,
    "scheduled_press_released": _scheduled_press_released,
    "digest_highlights_generated": _digest_highlights_generated,
    "press_shared": _press_shared,
    "sideways_press_scheduled": _sideways_press_scheduled,
    "expedition_queued": _expedition_queued,
    "launch_expedition": _launch_expedition,
    "expedition_resolved": _expedition_resolved,
    "scholar_sidecast": _scholar_sidecast,
    "sideways_order_scheduled": _sideways_order_scheduled,
    "admin_cancel_expedition": _admin_cancel_expedition,
    "submit_theory": _submit_theory,
    "conference_launched": _conference_launched,
    "conference_resolved": _conference_resolved,
    "scholar_spawned": _scholar_spawned,
    "scholar_retired": _scholar_retired,
    "career_progression": _career_progression,
    "recruitment_attempt": _recruitment_attempt,
    "mentorship_queued": _mentorship_queued,
    "mentorship_activated": _mentorship_activated,
    "followup_resolved": _followup_resolved,
    "offer_created": _offer_created,
    "counter_offer_created": _counter_offer_created,
    "negotiation_resolved": _negotiation_resolved,
    "nickname_adopted": _nickname_adopted,
    "sidecast_followup": _sidecast_followup,
    "lab_assigned": _lab_assigned,
    "defection_epilogue": _defection_epilogue,
    "defection_evaluated": _defection_evaluated,
    "admin_force_defection": _admin_force_defection,
    "symposium_vote_reminder": _symposium_vote_reminder,
    "symposium_vote": _symposium_vote,
    "symposium_proposal_submitted": _symposium_proposal_submitted,
    "symposium_reprimand": _symposium_reprimand,
    "symposium_started": _symposium_started,
    "symposium_resolved": _symposium_resolved,
    "table_talk_post": _table_talk_post,
    "timeline_advanced": _timeline_advanced,
    "faction_investment": _faction_investment,
    "archive_endowment": _archive_endowment,
    "admin_reputation_adjustment": _admin_adjustment("reputation"),
    "admin_influence_adjustment": _admin_adjustment("influence"),
    "admin_create_faction_project": _admin_create_faction_project,
    "admin_update_faction_project": _admin_update("Faction project", "project_id"),
    "admin_create_seasonal_commitment": _admin_create_seasonal_commitment,
    "admin_update_seasonal_commitment": _admin_update("Seasonal commitment", "commitment_id"),
    "admin_cancel_order": _admin_cancel_order,
    "game_paused": _game_paused,
    "game_resumed": _game_resumed,
}


def render(action: str, payload: dict[str, Any]) -> tuple[str, str]:
    """Title and sentence for an event; unknown actions get the generic form."""
    fields = Fields(payload)
    renderer = RENDERERS.get(action)
    if renderer is None:
        return render_generic(action, fields, payload)
    return renderer(fields)

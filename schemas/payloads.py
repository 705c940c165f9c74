"""Payload models: one per action the game writes, with its fields spelled as the game spells them.

`../shared/great-work-event-catalogue.md` is the source. The game is not consistent (`player` in one
action, `player_id` in another; `code` or `expedition_code`), so the models keep its spelling and the
projector (knowledge/projector.py) maps each spelling to one filter field.

The fields that say who or what an event is about are required; the rest are optional, so a season
that omits a detail is still indexed. Types are checked: `roll: "high"` is a bad event. Unknown extra
fields are kept: the game may add fields before we add them here. Values that the catalogue lists as
"one of" are plain strings, since a new expedition type is news, not an error.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

Json = dict[str, Any]


class Payload(BaseModel):
    """Base of every payload model: extra fields allowed, types checked, no coercion of str to int."""

    model_config = ConfigDict(extra="allow", strict=True)


# --- press ---------------------------------------------------------------------------------------


class PressReleasePayload(Payload):
    """A press release: the narrative layer, where most searches in words land."""

    type: str = Field(min_length=1, max_length=100)
    headline: str = Field(min_length=1)
    body: str = ""
    metadata: Json = Field(default_factory=dict)


class PressScheduled(Payload):
    headline: str
    release_at: str | None = None
    layer_type: str | None = None


class ScheduledPressReleased(Payload):
    headline: str
    release_at: str | None = None


class DigestHighlightsGenerated(Payload):
    headline: str
    item_count: int | None = None


class PressShared(Payload):
    player_id: str
    press_id: int | None = None
    headline: str | None = None


class SidewaysPressScheduled(Payload):
    order_code: str
    headline: str | None = None
    delay_minutes: int | None = None
    type: str | None = None


# --- expeditions ---------------------------------------------------------------------------------


class ExpeditionQueued(Payload):
    code: str
    player_id: str
    expedition_type: str | None = None
    objective: str | None = None
    team: list[Any] = Field(default_factory=list)
    funding: list[Any] = Field(default_factory=list)


class LaunchExpedition(Payload):
    code: str
    player: str
    type: str | None = None
    objective: str | None = None
    team: list[Any] = Field(default_factory=list)
    funding: list[Any] = Field(default_factory=list)
    prep_depth: str | None = None
    confidence: str | None = None


class ExpeditionResolved(Payload):
    code: str
    player: str
    type: str | None = None
    result: str
    roll: int | None = None
    modifier: int | None = None
    final: int | None = None
    confidence: str | None = None
    reputation_delta: int | None = None
    reputation_after: int | None = None


class ScholarSidecast(Payload):
    scholar: str
    expedition: str | None = None


class SidewaysOrderScheduled(Payload):
    order_code: str
    order_type: str | None = None
    delay_minutes: int | None = None


class AdminCancelExpedition(Payload):
    admin: str
    expedition_code: str
    reason: str | None = None


# --- theories and conferences --------------------------------------------------------------------


class SubmitTheory(Payload):
    player: str
    theory: str
    confidence: str | None = None
    supporters: list[Any] = Field(default_factory=list)
    deadline: str | None = None


class ConferenceLaunched(Payload):
    code: str
    player: str
    theory_id: int | None = None
    confidence: str | None = None
    supporters: list[Any] = Field(default_factory=list)
    opposition: list[Any] = Field(default_factory=list)
    supporter_names: list[Any] = Field(default_factory=list)
    opposition_names: list[Any] = Field(default_factory=list)


class ConferenceResolved(Payload):
    code: str
    outcome: str
    reputation_delta: int | None = None
    final_roll: int | None = None


# --- scholars ------------------------------------------------------------------------------------


class ScholarSpawned(Payload):
    id: str
    name: str
    origin: str | None = None


class CareerProgression(Payload):
    scholar: str
    new_tier: str
    mentor: str | None = None


class RecruitmentAttempt(Payload):
    player: str
    scholar: str
    faction: str | None = None
    chance: float | None = Field(default=None, strict=False)
    success: bool
    cooldown_penalty: float | None = Field(default=None, strict=False)
    influence_bonus: float | None = Field(default=None, strict=False)
    relationship: Json = Field(default_factory=dict)


class MentorshipQueued(Payload):
    player: str
    scholar: str
    career_track: str | None = None
    mentorship_id: int | None = None


class MentorshipActivated(Payload):
    player: str
    scholar: str
    mentorship_id: int | None = None


class FollowupResolved(Payload):
    scholar: str
    kind: str | None = None
    order_id: int | None = None


class OfferCreated(Payload):
    offer_id: int
    rival: str
    scholar: str
    influence: Json = Field(default_factory=dict)
    relationship_snapshot: Json = Field(default_factory=dict)


class CounterOfferCreated(Payload):
    counter_offer_id: int
    original_offer_id: int | None = None
    patron: str
    influence: Json = Field(default_factory=dict)
    relationship_snapshot: Json = Field(default_factory=dict)


class NegotiationResolved(Payload):
    offer_chain: list[Any] = Field(default_factory=list)
    best_offer: int | None = None
    probability: float | None = Field(default=None, strict=False)
    roll: float | None = Field(default=None, strict=False)
    accepted: bool
    relationship_rival: Json = Field(default_factory=dict)
    relationship_patron: Json = Field(default_factory=dict)


class NicknameAdopted(Payload):
    player_id: str
    scholar_id: str
    nickname: str


class SidecastFollowup(Payload):
    scholar: str
    arc: str | None = None
    phase: str | None = None
    sponsor: str | None = None


class LabAssigned(Payload):
    player: str
    scholar: str
    career_track: str | None = None
    old_track: str | None = None


class DefectionEpilogue(Payload):
    scholar: str
    scenario: str | None = None
    former_faction: str | None = None
    new_faction: str | None = None


class DefectionEvaluated(Payload):
    scholar: str
    probability: float | None = Field(default=None, strict=False)
    roll: float | None = Field(default=None, strict=False)
    outcome: str
    new_faction: str | None = None


class AdminForceDefection(Payload):
    admin: str
    scholar: str
    new_faction: str | None = None
    reason: str | None = None


class ScholarRetired(Payload):
    """The game writes `{id, name}` (its retirement path) or `{scholar, reason}`."""

    scholar: str | None = None
    id: str | None = None
    name: str | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _names_a_scholar(self) -> ScholarRetired:
        if not (self.scholar or self.id):
            raise ValueError("scholar_retired names the scholar as `scholar` or `id`")
        return self


# --- symposium -----------------------------------------------------------------------------------


class SymposiumVoteReminder(Payload):
    topic_id: int
    player: str
    reminder_level: str | None = None
    pledge_amount: int | None = None


class SymposiumVote(Payload):
    player: str
    topic_id: int
    vote_option: int
    proposal_id: int | None = None
    pledge_status: str | None = None


class SymposiumProposalSubmitted(Payload):
    proposal_id: int
    player: str
    topic: str
    expires_at: str | None = None


class SymposiumReprimand(Payload):
    player: str
    faction: str | None = None
    reprisal_level: int | None = None
    remaining: int | None = None


class SymposiumStarted(Payload):
    topic_id: int
    topic: str
    proposal_id: int | None = None
    pledges: Json = Field(default_factory=dict)


class SymposiumResolved(Payload):
    topic_id: int
    winner: str | None = None
    votes: Json = Field(default_factory=dict)
    proposal_id: int | None = None
    non_voters: list[Any] = Field(default_factory=list)
    penalties: list[Any] = Field(default_factory=list)


# --- game state ----------------------------------------------------------------------------------


class TableTalkPost(Payload):
    player: str
    display_name: str | None = None
    message: str


class TimelineAdvanced(Payload):
    current_year: int
    years_elapsed: int | None = None


class FactionInvestment(Payload):
    player: str
    faction: str
    amount: int
    program: str | None = None
    total: int | None = None


class ArchiveEndowment(Payload):
    player: str
    faction: str | None = None
    amount: int
    program: str | None = None
    paid_debt: int | None = None
    reputation_gain: int | None = None


class AdminReputationAdjustment(Payload):
    admin: str
    player: str
    delta: int
    old: int | None = None
    new: int | None = None
    reason: str | None = None


class AdminInfluenceAdjustment(Payload):
    admin: str
    player: str
    faction: str | None = None
    delta: int
    old: int | None = None
    new: int | None = None
    reason: str | None = None


class AdminCreateFactionProject(Payload):
    admin: str
    project_id: int
    name: str | None = None
    faction: str | None = None
    target_progress: float | None = Field(default=None, strict=False)
    reason: str | None = None


class AdminUpdateFactionProject(Payload):
    admin: str
    project_id: int
    status: str | None = None
    reason: str | None = None


class AdminCreateSeasonalCommitment(Payload):
    admin: str
    player: str
    faction: str | None = None
    tier: str | None = None
    commitment_id: int | None = None
    reason: str | None = None


class AdminUpdateSeasonalCommitment(Payload):
    admin: str
    commitment_id: int
    status: str | None = None
    reason: str | None = None


class AdminCancelOrder(Payload):
    id: int
    order_type: str | None = None
    actor_id: str | None = None
    subject_id: str | None = None
    reason: str | None = None
    timestamp: str | None = None


class GamePaused(Payload):
    admin: str | None = None  # absent when the game pauses itself (its LLM-outage path)
    reason: str | None = None
    source: str | None = None
    previously_paused: bool | None = None
    previous_source: str | None = None


class GameResumed(Payload):
    admin: str | None = None
    was_paused: bool | None = None
    previous_reason: str | None = None


#: action -> payload model. Every action of the game's catalogue is here, plus `press_release`.
PAYLOAD_MODELS: Final[dict[str, type[Payload]]] = {
    "press_release": PressReleasePayload,
    "press_scheduled": PressScheduled,
    "scheduled_press_released": ScheduledPressReleased,
    "digest_highlights_generated": DigestHighlightsGenerated,
    "press_shared": PressShared,
    "sideways_press_scheduled": SidewaysPressScheduled,
    "expedition_queued": ExpeditionQueued,
    "launch_expedition": LaunchExpedition,
    "expedition_resolved": ExpeditionResolved,
    "scholar_sidecast": ScholarSidecast,
    "sideways_order_scheduled": SidewaysOrderScheduled,
    "admin_cancel_expedition": AdminCancelExpedition,
    "submit_theory": SubmitTheory,
    "conference_launched": ConferenceLaunched,
    "conference_resolved": ConferenceResolved,
    "scholar_spawned": ScholarSpawned,
    "scholar_retired": ScholarRetired,
    "career_progression": CareerProgression,
    "recruitment_attempt": RecruitmentAttempt,
    "mentorship_queued": MentorshipQueued,
    "mentorship_activated": MentorshipActivated,
    "followup_resolved": FollowupResolved,
    "offer_created": OfferCreated,
    "counter_offer_created": CounterOfferCreated,
    "negotiation_resolved": NegotiationResolved,
    "nickname_adopted": NicknameAdopted,
    "sidecast_followup": SidecastFollowup,
    "lab_assigned": LabAssigned,
    "defection_epilogue": DefectionEpilogue,
    "defection_evaluated": DefectionEvaluated,
    "admin_force_defection": AdminForceDefection,
    "symposium_vote_reminder": SymposiumVoteReminder,
    "symposium_vote": SymposiumVote,
    "symposium_proposal_submitted": SymposiumProposalSubmitted,
    "symposium_reprimand": SymposiumReprimand,
    "symposium_started": SymposiumStarted,
    "symposium_resolved": SymposiumResolved,
    "table_talk_post": TableTalkPost,
    "timeline_advanced": TimelineAdvanced,
    "faction_investment": FactionInvestment,
    "archive_endowment": ArchiveEndowment,
    "admin_reputation_adjustment": AdminReputationAdjustment,
    "admin_influence_adjustment": AdminInfluenceAdjustment,
    "admin_create_faction_project": AdminCreateFactionProject,
    "admin_update_faction_project": AdminUpdateFactionProject,
    "admin_create_seasonal_commitment": AdminCreateSeasonalCommitment,
    "admin_update_seasonal_commitment": AdminUpdateSeasonalCommitment,
    "admin_cancel_order": AdminCancelOrder,
    "game_paused": GamePaused,
    "game_resumed": GameResumed,
}

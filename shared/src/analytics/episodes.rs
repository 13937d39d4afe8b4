//! Episodes: the per-session facts the metrics are made of (waits, replies, holds, transfers,
//! closes, ratings), read from a session's events by a small state machine. Definitions:
//! `docs/METRICS.md`. Pure: no I/O, no clock.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use super::events::{LifecycleEvent, Step};
use crate::domain::{AuditEvent, EventKind, SessionId, UserId};

/// How long after a close a reopen still makes it unresolved, and a rating may still change.
pub const FOLLOW_UP_WINDOW: Duration = Duration::days(7);

/// Why a session entered the waiting queue (`session.queued` `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueReason {
    /// The session was just opened.
    Created,
    /// The customer reopened a closed session.
    Reopened,
    /// An agent gave the session back to the queue.
    TransferredBack,
    /// A reason this engine does not know, or a wait whose start the log shows only implicitly.
    Other,
}

impl QueueReason {
    fn parse(reason: Option<&str>) -> Self {
        match reason {
            Some("created") => Self::Created,
            Some("reopened") => Self::Reopened,
            Some("transferred_back") => Self::TransferredBack,
            _ => Self::Other,
        }
    }
}

/// How an episode began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EpisodeOrigin {
    /// `session.created`.
    Created,
    /// `session.reopened`.
    Reopened,
    /// Before the events read: only its later events are known.
    Unknown,
}

/// How a wait in the queue ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum WaitEnd {
    /// An agent was assigned.
    Assigned {
        /// When.
        #[serde(with = "crate::domain::timestamp")]
        at: OffsetDateTime,
        /// To whom.
        agent_id: UserId,
    },
    /// The session was closed while still waiting.
    Abandoned {
        /// When.
        #[serde(with = "crate::domain::timestamp")]
        at: OffsetDateTime,
    },
}

/// The first human agent message of a wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstResponse {
    /// When it was sent.
    #[serde(with = "crate::domain::timestamp")]
    pub at: OffsetDateTime,
    /// The agent credited: the assignee at that time (else the sender).
    pub agent_id: UserId,
}

/// One stay in the waiting queue, and the reply clock it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wait {
    /// When the customer started waiting (`session.queued`).
    #[serde(with = "crate::domain::timestamp")]
    pub started_at: OffsetDateTime,
    /// Why.
    pub reason: QueueReason,
    /// How it ended; `None` while still waiting.
    pub end: Option<WaitEnd>,
    /// The first agent reply since `started_at`, if any.
    pub first_response: Option<FirstResponse>,
    /// When the reply clock stopped without a reply (close, or the next wait), if it did.
    #[serde(with = "crate::domain::timestamp::option")]
    pub unanswered_at: Option<OffsetDateTime>,
}

impl Wait {
    /// Time in the queue until an agent was assigned; `None` if abandoned or still waiting.
    pub fn wait_time(&self) -> Option<Duration> {
        match &self.end {
            Some(WaitEnd::Assigned { at, .. }) => Some(*at - self.started_at),
            _ => None,
        }
    }

    /// Time from the start of the wait to the first agent reply.
    pub fn first_response_time(&self) -> Option<Duration> {
        self.first_response.as_ref().map(|reply| reply.at - self.started_at)
    }
}

/// One agent's stretch as the assignee of an episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// The assignee.
    pub agent_id: UserId,
    /// From (assignment or transfer in); `None` when that is before the events read.
    #[serde(with = "crate::domain::timestamp::option")]
    pub from: Option<OffsetDateTime>,
    /// Until (transfer out, back to the queue, or close); `None` while still held.
    #[serde(with = "crate::domain::timestamp::option")]
    pub until: Option<OffsetDateTime>,
}

impl Hold {
    /// How long it was held, when both ends are known.
    pub fn duration(&self) -> Option<Duration> {
        Some(self.until? - self.from?)
    }
}

/// A hand-over from one agent to another while the session stays active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// When.
    #[serde(with = "crate::domain::timestamp")]
    pub at: OffsetDateTime,
    /// The agent giving it up (`None` if the log does not say and no assignee is known).
    pub from_agent_id: Option<UserId>,
    /// The agent taking it.
    pub to_agent_id: UserId,
}

/// The rating that counts for an episode: the latest one given within the follow-up window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// 1 to 5.
    pub score: u8,
    /// When the counting score was given.
    #[serde(with = "crate::domain::timestamp")]
    pub at: OffsetDateTime,
    /// How many times it was given (1 = never changed).
    pub times_given: u32,
}

/// One life of a session: from creation or a reopen to its close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    /// How it began.
    pub origin: EpisodeOrigin,
    /// When it began; `None` when that is before the events read.
    #[serde(with = "crate::domain::timestamp::option")]
    pub started_at: Option<OffsetDateTime>,
    /// Its stays in the queue, in order.
    pub waits: Vec<Wait>,
    /// The first assignment, which starts the handle time.
    #[serde(with = "crate::domain::timestamp::option")]
    pub first_assigned_at: Option<OffsetDateTime>,
    /// Who held it when, in order.
    pub holds: Vec<Hold>,
    /// Its transfers, in order.
    pub transfers: Vec<Transfer>,
    /// When it was closed; `None` while open.
    #[serde(with = "crate::domain::timestamp::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// The assignee when it was closed.
    pub closed_with_agent_id: Option<UserId>,
    /// When the next episode began (the session was reopened), if it did.
    #[serde(with = "crate::domain::timestamp::option")]
    pub reopened_at: Option<OffsetDateTime>,
    /// The rating of this episode, if any.
    pub rating: Option<Rating>,
}

impl Episode {
    fn new(origin: EpisodeOrigin, started_at: Option<OffsetDateTime>) -> Self {
        Self {
            origin,
            started_at,
            waits: Vec::new(),
            first_assigned_at: None,
            holds: Vec::new(),
            transfers: Vec::new(),
            closed_at: None,
            closed_with_agent_id: None,
            reopened_at: None,
            rating: None,
        }
    }

    /// First assignment to close; `None` if never assigned (or its assignment is before the events
    /// read) or still open.
    pub fn handle_time(&self) -> Option<Duration> {
        Some(self.closed_at? - self.first_assigned_at?)
    }

    /// Whether the episode counts as resolved as of `as_of`: `Some(false)` if reopened within the
    /// follow-up window, `Some(true)` once the window passed without one, `None` until then (or
    /// while open).
    pub fn resolved(&self, as_of: OffsetDateTime) -> Option<bool> {
        let closed_at = self.closed_at?;
        match self.reopened_at {
            Some(reopened_at) if reopened_at - closed_at <= FOLLOW_UP_WINDOW => Some(false),
            _ if as_of - closed_at > FOLLOW_UP_WINDOW => Some(true),
            Some(_) => Some(true),
            None => None,
        }
    }

    /// Each agent's share of the handle time: the sum of their complete holds.
    pub fn held_by_agent(&self) -> BTreeMap<&UserId, Duration> {
        let mut shares: BTreeMap<&UserId, Duration> = BTreeMap::new();
        for hold in &self.holds {
            if let Some(held) = hold.duration() {
                *shares.entry(&hold.agent_id).or_insert(Duration::ZERO) += held;
            }
        }
        shares
    }

    fn holder(&self) -> Option<&UserId> {
        self.holds.last().filter(|hold| hold.until.is_none()).map(|hold| &hold.agent_id)
    }

    fn end_hold(&mut self, at: OffsetDateTime) {
        if let Some(hold) = self.holds.last_mut().filter(|hold| hold.until.is_none()) {
            hold.until = Some(at);
        }
    }

    fn is_waiting(&self) -> bool {
        self.waits.last().is_some_and(|wait| wait.end.is_none())
    }

    /// The wait still in the queue (not yet assigned or abandoned).
    fn waiting(&mut self) -> Option<&mut Wait> {
        self.waits.last_mut().filter(|wait| wait.end.is_none())
    }

    /// Stops the reply clock of the latest wait, counting it unanswered if nobody replied.
    fn stop_reply_clock(&mut self, at: OffsetDateTime) {
        if let Some(wait) = self.waits.last_mut() {
            if wait.first_response.is_none() && wait.unanswered_at.is_none() {
                wait.unanswered_at = Some(at);
            }
        }
    }

    fn start_wait(&mut self, at: OffsetDateTime, reason: QueueReason) {
        self.stop_reply_clock(at);
        self.waits.push(Wait {
            started_at: at,
            reason,
            end: None,
            first_response: None,
            unanswered_at: None,
        });
    }
}

/// Everything the metrics need to know about one session, read from its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionFacts {
    /// The session.
    pub session_id: SessionId,
    /// When it was created, if that is among the events read.
    #[serde(with = "crate::domain::timestamp::option")]
    pub created_at: Option<OffsetDateTime>,
    /// Its episodes, in order; only the last may be open.
    pub episodes: Vec<Episode>,
    /// How many times it was reopened (among the events read).
    pub reopen_count: u32,
    /// Session events that did not fit the lifecycle (e.g. a rating while open) and were ignored.
    pub ignored_events: u32,
}

impl SessionFacts {
    /// Reads a session's facts from its events, in any order: sorted by `at` then id, a repeated id
    /// counted once, other sessions' events and kinds other than the `session.*` lifecycle ignored.
    pub fn from_events(session_id: SessionId, events: &[AuditEvent]) -> SessionFacts {
        Self::from_steps(
            session_id,
            events.iter().filter(|event| event.session_id == Some(session_id)).map(Step::of_audit).collect(),
        )
    }

    /// [`from_events`](Self::from_events) from events decoded as [`LifecycleEvent`]s: the same
    /// facts.
    pub fn from_lifecycle(session_id: SessionId, events: &[LifecycleEvent]) -> SessionFacts {
        Self::from_steps(
            session_id,
            events
                .iter()
                .filter(|event| event.session_id == Some(session_id))
                .map(Step::of_lifecycle)
                .collect(),
        )
    }

    fn from_steps(session_id: SessionId, steps: Vec<Step<'_>>) -> SessionFacts {
        let mut seen = HashSet::new();
        let mut mine: Vec<Step<'_>> = steps.into_iter().filter(|step| seen.insert(step.id)).collect();
        mine.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(b.id)));
        let mut facts = SessionFacts {
            session_id,
            created_at: None,
            episodes: Vec::new(),
            reopen_count: 0,
            ignored_events: 0,
        };
        for step in &mine {
            if !facts.apply(step) {
                facts.ignored_events += 1;
            }
        }
        facts
    }

    /// Every time its facts name (creation, each episode's start, waits and their ends, replies,
    /// unanswered waits, transfers, closes): every figure a summary counts is counted at one of
    /// them.
    pub fn times(&self) -> impl Iterator<Item = OffsetDateTime> + '_ {
        let episodes = self.episodes.iter().flat_map(|episode| {
            let waits = episode.waits.iter().flat_map(|wait| {
                let end = wait.end.as_ref().map(|end| match end {
                    WaitEnd::Assigned { at, .. } | WaitEnd::Abandoned { at } => *at,
                });
                [
                    Some(wait.started_at),
                    end,
                    wait.first_response.as_ref().map(|reply| reply.at),
                    wait.unanswered_at,
                ]
            });
            let transfers = episode.transfers.iter().map(|transfer| Some(transfer.at));
            [episode.started_at, episode.closed_at].into_iter().chain(waits).chain(transfers)
        });
        std::iter::once(self.created_at).chain(episodes).flatten()
    }

    fn open_episode(&mut self) -> Option<&mut Episode> {
        self.episodes.last_mut().filter(|episode| episode.closed_at.is_none())
    }

    /// Starts an episode (with its wait); after a closed one, that is a reopen.
    fn start_episode(&mut self, origin: EpisodeOrigin, at: OffsetDateTime, reason: QueueReason) {
        if let Some(previous) = self.episodes.last_mut() {
            previous.reopened_at = Some(at);
            self.reopen_count += 1;
        } else if origin == EpisodeOrigin::Reopened {
            // Reopened with its close before the events read.
            self.reopen_count += 1;
        }
        let mut episode = Episode::new(origin, Some(at));
        episode.start_wait(at, reason);
        self.episodes.push(episode);
    }

    /// The open episode for an event that needs one; with no history at all, one that began
    /// before the events read. `None` if the session is closed (the event belongs to nothing).
    fn episode_for_update(&mut self) -> Option<&mut Episode> {
        if self.episodes.is_empty() {
            self.episodes.push(Episode::new(EpisodeOrigin::Unknown, None));
        }
        self.open_episode()
    }

    /// Applies one event; `false` if it was ignored.
    fn apply(&mut self, step: &Step<'_>) -> bool {
        let at = step.at;
        match step.kind {
            Some(EventKind::SessionCreated) => {
                if self.created_at.is_none() {
                    self.created_at = Some(at);
                }
                if self.open_episode().is_none() {
                    self.start_episode(EpisodeOrigin::Created, at, QueueReason::Created);
                }
                true
            }
            Some(EventKind::SessionReopened) => {
                if self.open_episode().is_some() {
                    // Already opened by its `session.queued` (same instant, sorted first).
                    return true;
                }
                self.start_episode(EpisodeOrigin::Reopened, at, QueueReason::Reopened);
                true
            }
            Some(EventKind::SessionQueued) => {
                let reason = QueueReason::parse(step.reason);
                match self.open_episode() {
                    None => {
                        let origin = match reason {
                            QueueReason::Created => EpisodeOrigin::Created,
                            QueueReason::Reopened => EpisodeOrigin::Reopened,
                            _ => EpisodeOrigin::Unknown,
                        };
                        self.start_episode(origin, at, reason);
                        true
                    }
                    // Already waiting: the same wait, recorded with its created/reopened.
                    Some(episode) if episode.is_waiting() => true,
                    Some(episode) => {
                        episode.end_hold(at);
                        episode.start_wait(at, reason);
                        true
                    }
                }
            }
            Some(EventKind::SessionAssigned) => {
                let agent_id = user(step.agent_id).unwrap_or_else(|| step.actor_id.clone());
                let Some(episode) = self.episode_for_update() else { return false };
                if episode.holder().is_some() {
                    // Assigning an active session is refused by the API.
                    return false;
                }
                if let Some(wait) = episode.waiting() {
                    wait.end = Some(WaitEnd::Assigned { at, agent_id: agent_id.clone() });
                }
                episode.first_assigned_at.get_or_insert(at);
                episode.holds.push(Hold { agent_id, from: Some(at), until: None });
                true
            }
            Some(EventKind::SessionTransferred) => {
                let Some(to_agent_id) = user(step.to_agent_id) else { return false };
                let Some(episode) = self.episode_for_update() else { return false };
                let from_agent_id = user(step.from_agent_id).or_else(|| episode.holder().cloned());
                let known_from = episode.holder().is_some();
                episode.end_hold(at);
                if !known_from {
                    // Assigned before the events read: its holder's share is unknown.
                    if let Some(from) = &from_agent_id {
                        episode.holds.push(Hold { agent_id: from.clone(), from: None, until: Some(at) });
                    }
                }
                episode.holds.push(Hold { agent_id: to_agent_id.clone(), from: Some(at), until: None });
                episode.transfers.push(Transfer { at, from_agent_id, to_agent_id });
                true
            }
            Some(EventKind::SessionFirstResponse) => {
                let sender = user(step.agent_id).unwrap_or_else(|| step.actor_id.clone());
                let Some(episode) = self.episode_for_update() else { return false };
                let agent_id = episode.holder().cloned().unwrap_or(sender);
                match episode.waits.last_mut() {
                    Some(wait) if wait.first_response.is_none() && wait.unanswered_at.is_none() => {
                        wait.first_response = Some(FirstResponse { at, agent_id });
                        true
                    }
                    // At most one per wait; or its wait began before the events read.
                    _ => false,
                }
            }
            Some(EventKind::SessionClosed) => {
                let Some(episode) = self.episode_for_update() else { return false };
                if let Some(wait) = episode.waiting() {
                    wait.end = Some(WaitEnd::Abandoned { at });
                }
                episode.stop_reply_clock(at);
                episode.closed_with_agent_id = episode.holder().cloned();
                episode.end_hold(at);
                episode.closed_at = Some(at);
                true
            }
            Some(EventKind::SessionRated) => {
                let score = step.score.and_then(|s| u8::try_from(s).ok());
                let Some(score) = score.filter(|s| (1..=5).contains(s)) else { return false };
                // Rates the last close, if the session is still closed and within the window.
                let Some(episode) = self.episodes.last_mut() else { return false };
                let Some(closed_at) = episode.closed_at else { return false };
                if at < closed_at || at - closed_at > FOLLOW_UP_WINDOW {
                    return false;
                }
                let times_given = episode.rating.as_ref().map_or(0, |r| r.times_given) + 1;
                episode.rating = Some(Rating { score, at, times_given });
                true
            }
            // Kinds that are not the session's lifecycle, and kinds this build does not know.
            Some(_) | None => false,
        }
    }
}

/// A user id from a details field, if present and valid.
fn user(field: Option<&str>) -> Option<UserId> {
    field.and_then(|s| UserId::parse(s).ok())
}

/// Groups a stream of events (e.g. a day's) by session and reads each session's facts.
pub fn facts_by_session(events: &[AuditEvent]) -> Vec<SessionFacts> {
    let mut by_session: BTreeMap<SessionId, Vec<AuditEvent>> = BTreeMap::new();
    for event in events {
        if let Some(id) = event.session_id {
            by_session.entry(id).or_default().push(event.clone());
        }
    }
    by_session.into_iter().map(|(id, events)| SessionFacts::from_events(id, &events)).collect()
}

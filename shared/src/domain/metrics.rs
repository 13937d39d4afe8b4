//! Support metrics from the session event log: per-session facts (episodes, waits, replies,
//! holds, ratings) and a mergeable summary for a time range. Definitions: `docs/METRICS.md`.
//! Pure: no I/O, no clock; the caller passes the events and the time they were read (`as_of`).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;
use base64::Engine;

use super::{AuditEvent, SessionId, UserId};

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

/// The session lifecycle events the engine reads (`kind`); any other kind is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum LifecycleKind {
    /// `session.created`.
    #[serde(rename = "session.created")]
    Created,
    /// `session.reopened`.
    #[serde(rename = "session.reopened")]
    Reopened,
    /// `session.queued`.
    #[serde(rename = "session.queued")]
    Queued,
    /// `session.assigned`.
    #[serde(rename = "session.assigned")]
    Assigned,
    /// `session.transferred`.
    #[serde(rename = "session.transferred")]
    Transferred,
    /// `session.first_response`.
    #[serde(rename = "session.first_response")]
    FirstResponse,
    /// `session.closed`.
    #[serde(rename = "session.closed")]
    Closed,
    /// `session.rated`.
    #[serde(rename = "session.rated")]
    Rated,
    /// Any other kind.
    #[serde(other)]
    Other,
}

impl LifecycleKind {
    /// The kind named `kind`, by the names its deserializer reads (any other is `Other`).
    fn parse(kind: &str) -> Self {
        let name = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(kind);
        Self::deserialize(name).unwrap_or(Self::Other)
    }
}

/// A stored event as the engine reads it, decoded straight from its JSON with only the fields
/// the metrics use (an [`AuditEvent`] decodes all of them, its details into a map): what the
/// rollup reads for every session of a day. Details of an unexpected type read as absent, as
/// they do from an [`AuditEvent`].
#[derive(Debug, Clone, Deserialize)]
pub struct LifecycleEvent {
    /// Event id.
    pub id: String,
    /// Its kind.
    pub kind: LifecycleKind,
    /// Who did it.
    pub actor_id: UserId,
    /// The session it concerns.
    pub session_id: Option<SessionId>,
    /// When.
    #[serde(with = "crate::domain::timestamp")]
    pub at: OffsetDateTime,
    /// The details the metrics read.
    #[serde(default)]
    pub details: LifecycleDetails,
}

/// The details of a lifecycle event the metrics (and the rollup's rooms) read.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LifecycleDetails {
    /// `session.queued`: why.
    pub reason: Option<Value>,
    /// `session.assigned`, `session.first_response`: the agent.
    pub agent_id: Option<Value>,
    /// `session.transferred`: to whom.
    pub to_agent_id: Option<Value>,
    /// `session.transferred`: from whom.
    pub from_agent_id: Option<Value>,
    /// `session.rated`: the score.
    pub score: Option<Value>,
    /// `session.created`: the room.
    pub room_id: Option<Value>,
}

/// One event as [`SessionFacts`] applies it, from either kind of event.
struct Step<'a> {
    id: &'a str,
    kind: LifecycleKind,
    at: OffsetDateTime,
    actor_id: &'a UserId,
    reason: Option<&'a str>,
    agent_id: Option<&'a str>,
    to_agent_id: Option<&'a str>,
    from_agent_id: Option<&'a str>,
    score: Option<u64>,
}

impl<'a> Step<'a> {
    fn of_audit(event: &'a AuditEvent) -> Self {
        let text = |field: &str| event.details.get(field).and_then(Value::as_str);
        Step {
            id: &event.id,
            kind: LifecycleKind::parse(&event.kind),
            at: event.at,
            actor_id: &event.actor_id,
            reason: text("reason"),
            agent_id: text("agent_id"),
            to_agent_id: text("to_agent_id"),
            from_agent_id: text("from_agent_id"),
            score: event.details.get("score").and_then(Value::as_u64),
        }
    }

    fn of_lifecycle(event: &'a LifecycleEvent) -> Self {
        let details = &event.details;
        let text = |value: &'a Option<Value>| value.as_ref().and_then(Value::as_str);
        Step {
            id: &event.id,
            kind: event.kind,
            at: event.at,
            actor_id: &event.actor_id,
            reason: text(&details.reason),
            agent_id: text(&details.agent_id),
            to_agent_id: text(&details.to_agent_id),
            from_agent_id: text(&details.from_agent_id),
            score: details.score.as_ref().and_then(Value::as_u64),
        }
    }
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
            LifecycleKind::Created => {
                if self.created_at.is_none() {
                    self.created_at = Some(at);
                }
                if self.open_episode().is_none() {
                    self.start_episode(EpisodeOrigin::Created, at, QueueReason::Created);
                }
                true
            }
            LifecycleKind::Reopened => {
                if self.open_episode().is_some() {
                    // Already opened by its `session.queued` (same instant, sorted first).
                    return true;
                }
                self.start_episode(EpisodeOrigin::Reopened, at, QueueReason::Reopened);
                true
            }
            LifecycleKind::Queued => {
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
            LifecycleKind::Assigned => {
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
            LifecycleKind::Transferred => {
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
            LifecycleKind::FirstResponse => {
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
            LifecycleKind::Closed => {
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
            LifecycleKind::Rated => {
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
            LifecycleKind::Other => false,
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

/// Duration samples in whole milliseconds: exact sum and count, and every sample kept sorted so
/// percentiles stay exact when partial results are merged. Serialised compactly for the stored
/// rollups: `{"sum_ms", "samples"}`, the samples as the base64 of their LEB128-encoded gaps
/// (ascending samples have small gaps: about two bytes a sample instead of eight).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "PackedDurations", try_from = "PackedDurations")]
pub struct Durations {
    /// Sum of the samples, ms.
    pub sum_ms: u64,
    /// The samples, ms, ascending.
    pub samples_ms: Vec<u64>,
}

impl Durations {
    /// Adds a sample (negative durations, from clock skew, count as zero).
    pub fn push(&mut self, duration: Duration) {
        let ms = u64::try_from(duration.whole_milliseconds()).unwrap_or(0);
        let at = self.samples_ms.partition_point(|&s| s <= ms);
        self.samples_ms.insert(at, ms);
        self.sum_ms += ms;
    }

    /// Adds another set's samples (a sorted merge).
    pub fn merge(&mut self, other: &Durations) {
        let mut merged = Vec::with_capacity(self.samples_ms.len() + other.samples_ms.len());
        let (mut a, mut b) = (self.samples_ms.iter().peekable(), other.samples_ms.iter().peekable());
        while let (Some(&&x), Some(&&y)) = (a.peek(), b.peek()) {
            if x <= y {
                merged.push(x);
                a.next();
            } else {
                merged.push(y);
                b.next();
            }
        }
        merged.extend(a);
        merged.extend(b);
        self.samples_ms = merged;
        self.sum_ms += other.sum_ms;
    }

    /// How many samples.
    pub fn count(&self) -> u64 {
        self.samples_ms.len() as u64
    }

    /// The mean in seconds, rounded to the millisecond.
    pub fn average_seconds(&self) -> Option<f64> {
        let count = self.count();
        (count > 0).then(|| (self.sum_ms as f64 / count as f64).round() / 1000.0)
    }

    /// The nearest-rank percentile (`p` in 1..=100) in seconds: the sample of rank ⌈p·n/100⌉.
    pub fn percentile_seconds(&self, p: u8) -> Option<f64> {
        let n = self.samples_ms.len();
        if n == 0 || p == 0 {
            return None;
        }
        let rank = (usize::from(p.min(100)) * n).div_ceil(100).max(1);
        self.samples_ms.get(rank - 1).map(|&ms| ms as f64 / 1000.0)
    }

    /// The figures reported for these samples.
    pub fn report(&self) -> DurationReport {
        DurationReport {
            count: self.count(),
            average_seconds: self.average_seconds(),
            median_seconds: self.percentile_seconds(50),
            p90_seconds: self.percentile_seconds(90),
        }
    }
}

/// The stored form of [`Durations`].
#[derive(Serialize, Deserialize)]
struct PackedDurations {
    sum_ms: u64,
    samples: String,
}

impl From<Durations> for PackedDurations {
    fn from(durations: Durations) -> Self {
        let mut bytes = Vec::with_capacity(durations.samples_ms.len() * 2);
        let mut previous = 0;
        for &sample in &durations.samples_ms {
            let mut gap = sample - previous;
            previous = sample;
            loop {
                let low = (gap & 0x7f) as u8;
                gap >>= 7;
                if gap == 0 {
                    bytes.push(low);
                    break;
                }
                bytes.push(low | 0x80);
            }
        }
        Self { sum_ms: durations.sum_ms, samples: BASE64.encode(bytes) }
    }
}

impl TryFrom<PackedDurations> for Durations {
    type Error = String;

    fn try_from(packed: PackedDurations) -> Result<Self, String> {
        let bytes = BASE64.decode(packed.samples.as_bytes()).map_err(|e| format!("samples: {e}"))?;
        let mut samples_ms = Vec::with_capacity(bytes.len() / 2);
        let (mut previous, mut gap, mut shift) = (0u64, 0u64, 0u32);
        for byte in bytes {
            if shift > 63 {
                return Err("samples: a gap longer than 64 bits".into());
            }
            gap |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                previous = previous.checked_add(gap).ok_or("samples: overflow")?;
                samples_ms.push(previous);
                (gap, shift) = (0, 0);
            } else {
                shift += 7;
            }
        }
        if shift != 0 {
            return Err("samples: truncated".into());
        }
        Ok(Self { sum_ms: packed.sum_ms, samples_ms })
    }
}

/// Per-agent partial figures; every field merges by addition (samples by sorted merge).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSummary {
    /// Sessions given to them by assignment.
    pub assigned: u64,
    /// Sessions transferred to them.
    pub transfers_in: u64,
    /// Sessions they transferred away.
    pub transfers_out: u64,
    /// Their credited first response times.
    pub first_response: Durations,
    /// Their share (time held) of each episode closed in the range that they held.
    pub held: Durations,
    /// Episodes closed while assigned to them.
    pub closed: u64,
}

impl AgentSummary {
    /// Adds another partial's figures.
    pub fn merge(&mut self, other: &AgentSummary) {
        self.assigned += other.assigned;
        self.transfers_in += other.transfers_in;
        self.transfers_out += other.transfers_out;
        self.first_response.merge(&other.first_response);
        self.held.merge(&other.held);
        self.closed += other.closed;
    }
}

/// The partial figures of a range `[from, to)`: each fact counts in the range holding its ending
/// event. Mergeable: counts and sums add, samples merge sorted, so merging per-day summaries gives
/// exactly the summary of the whole period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Start of the range, inclusive.
    #[serde(with = "crate::domain::timestamp")]
    pub from: OffsetDateTime,
    /// End of the range, exclusive.
    #[serde(with = "crate::domain::timestamp")]
    pub to: OffsetDateTime,
    /// The time the events were read: decides which resolutions are still pending.
    #[serde(with = "crate::domain::timestamp")]
    pub as_of: OffsetDateTime,
    /// Sessions created.
    pub created: u64,
    /// Reopens.
    pub reopened: u64,
    /// Episodes closed.
    pub closed: u64,
    /// Waits ended by an assignment: time in the queue.
    pub wait: Durations,
    /// Waits ended by a close: time in the queue until then.
    pub abandoned: Durations,
    /// First response times.
    pub first_response: Durations,
    /// Waits whose reply clock stopped without a reply.
    pub unanswered: u64,
    /// Handle times of closed episodes.
    pub handle: Durations,
    /// Closed episodes not reopened within the follow-up window.
    pub resolved: u64,
    /// Closed episodes reopened within the follow-up window.
    pub reopened_within_window: u64,
    /// Closed episodes whose follow-up window is still running.
    pub resolution_pending: u64,
    /// Rated closed episodes per score, index 0 = score 1.
    pub scores: [u64; 5],
    /// Transfers.
    pub transfers: u64,
    /// Per-agent figures.
    pub agents: BTreeMap<UserId, AgentSummary>,
}

impl Summary {
    /// An empty summary of `[from, to)`, for events read at `as_of`.
    pub fn new(from: OffsetDateTime, to: OffsetDateTime, as_of: OffsetDateTime) -> Self {
        Self {
            from,
            to,
            as_of,
            created: 0,
            reopened: 0,
            closed: 0,
            wait: Durations::default(),
            abandoned: Durations::default(),
            first_response: Durations::default(),
            unanswered: 0,
            handle: Durations::default(),
            resolved: 0,
            reopened_within_window: 0,
            resolution_pending: 0,
            scores: [0; 5],
            transfers: 0,
            agents: BTreeMap::new(),
        }
    }

    /// The summary of many sessions: added 256 at a time to a summary of their own, merged into
    /// the whole after each (adding inserts each sample in order, which costs the square of the
    /// samples over thousands of sessions; a merge is linear).
    pub fn of<'a>(
        from: OffsetDateTime,
        to: OffsetDateTime,
        as_of: OffsetDateTime,
        sessions: impl IntoIterator<Item = &'a SessionFacts>,
    ) -> Self {
        let mut summary = Self::new(from, to, as_of);
        let mut part = Self::new(from, to, as_of);
        for (n, facts) in sessions.into_iter().enumerate() {
            part.add(facts);
            if n % 256 == 255 {
                summary.merge(&std::mem::replace(&mut part, Self::new(from, to, as_of)));
            }
        }
        summary.merge(&part);
        summary
    }

    fn in_range(&self, at: OffsetDateTime) -> bool {
        self.from <= at && at < self.to
    }

    /// Updates an agent's figures, adding the agent first if new (the id is cloned only then:
    /// this runs for every sample).
    fn agent(&mut self, agent_id: &UserId, update: impl FnOnce(&mut AgentSummary)) {
        match self.agents.get_mut(agent_id) {
            Some(agent) => update(agent),
            None => {
                let mut agent = AgentSummary::default();
                update(&mut agent);
                self.agents.insert(agent_id.clone(), agent);
            }
        }
    }

    /// Adds one session's facts that fall in the range.
    pub fn add(&mut self, facts: &SessionFacts) {
        if facts.created_at.is_some_and(|at| self.in_range(at)) {
            self.created += 1;
        }
        for episode in &facts.episodes {
            self.add_episode(episode);
        }
    }

    fn add_episode(&mut self, episode: &Episode) {
        if episode.origin == EpisodeOrigin::Reopened && episode.started_at.is_some_and(|at| self.in_range(at))
        {
            self.reopened += 1;
        }
        for wait in &episode.waits {
            match &wait.end {
                Some(WaitEnd::Assigned { at, agent_id }) if self.in_range(*at) => {
                    self.wait.push(*at - wait.started_at);
                    self.agent(agent_id, |agent| agent.assigned += 1);
                }
                Some(WaitEnd::Abandoned { at }) if self.in_range(*at) => {
                    self.abandoned.push(*at - wait.started_at)
                }
                _ => {}
            }
            if let Some(reply) = wait.first_response.as_ref().filter(|reply| self.in_range(reply.at)) {
                self.first_response.push(reply.at - wait.started_at);
                self.agent(&reply.agent_id, |agent| agent.first_response.push(reply.at - wait.started_at));
            }
            if wait.unanswered_at.is_some_and(|at| self.in_range(at)) {
                self.unanswered += 1;
            }
        }
        for transfer in &episode.transfers {
            if !self.in_range(transfer.at) {
                continue;
            }
            self.transfers += 1;
            self.agent(&transfer.to_agent_id, |agent| agent.transfers_in += 1);
            if let Some(from) = &transfer.from_agent_id {
                self.agent(from, |agent| agent.transfers_out += 1);
            }
        }
        if !episode.closed_at.is_some_and(|at| self.in_range(at)) {
            return;
        }
        self.closed += 1;
        if let Some(handle) = episode.handle_time() {
            self.handle.push(handle);
        }
        for (agent_id, held) in episode.held_by_agent() {
            self.agent(agent_id, |agent| agent.held.push(held));
        }
        if let Some(agent_id) = &episode.closed_with_agent_id {
            self.agent(agent_id, |agent| agent.closed += 1);
        }
        match episode.resolved(self.as_of) {
            Some(true) => self.resolved += 1,
            Some(false) => self.reopened_within_window += 1,
            None => self.resolution_pending += 1,
        }
        if let Some(rating) = &episode.rating {
            if let Some(count) = self.scores.get_mut(usize::from(rating.score).saturating_sub(1)) {
                *count += 1;
            }
        }
    }

    /// Adds another partial summary (e.g. the next day's): the range widens to cover both, `as_of`
    /// becomes the earlier one. Summaries of overlapping ranges would count their overlap twice.
    pub fn merge(&mut self, other: &Summary) {
        self.from = self.from.min(other.from);
        self.to = self.to.max(other.to);
        self.as_of = self.as_of.min(other.as_of);
        self.created += other.created;
        self.reopened += other.reopened;
        self.closed += other.closed;
        self.wait.merge(&other.wait);
        self.abandoned.merge(&other.abandoned);
        self.first_response.merge(&other.first_response);
        self.unanswered += other.unanswered;
        self.handle.merge(&other.handle);
        self.resolved += other.resolved;
        self.reopened_within_window += other.reopened_within_window;
        self.resolution_pending += other.resolution_pending;
        for (count, more) in self.scores.iter_mut().zip(other.scores) {
            *count += more;
        }
        self.transfers += other.transfers;
        for (agent_id, figures) in &other.agents {
            self.agent(agent_id, |agent| agent.merge(figures));
        }
    }

    /// The figures as reported: seconds rounded to the millisecond, ratios to four decimals.
    pub fn report(&self) -> MetricsReport {
        let rated: u64 = self.scores.iter().sum();
        let score_sum: u64 = self.scores.iter().zip(1u64..).map(|(count, score)| count * score).sum();
        let decided = self.resolved + self.reopened_within_window;
        MetricsReport {
            from: self.from,
            to: self.to,
            as_of: self.as_of,
            sessions_created: self.created,
            sessions_reopened: self.reopened,
            sessions_closed: self.closed,
            wait: self.wait.report(),
            abandoned: self.abandoned.report(),
            first_response: self.first_response.report(),
            unanswered: self.unanswered,
            handle: self.handle.report(),
            resolution: ResolutionReport {
                resolved: self.resolved,
                reopened: self.reopened_within_window,
                pending: self.resolution_pending,
                rate: ratio(self.resolved, decided),
            },
            csat: CsatReport {
                average: ratio(score_sum, rated),
                distribution: self.scores,
                rated,
                response_rate: ratio(rated, self.closed),
            },
            transfers: self.transfers,
            agents: self
                .agents
                .iter()
                .map(|(agent_id, figures)| AgentReport {
                    agent_id: agent_id.clone(),
                    handled: figures.assigned + figures.transfers_in,
                    assigned: figures.assigned,
                    transfers_in: figures.transfers_in,
                    transfers_out: figures.transfers_out,
                    first_responses: figures.first_response.count(),
                    first_response: figures.first_response.report(),
                    handle: figures.held.report(),
                    closed: figures.closed,
                })
                .collect(),
        }
    }
}

/// `part / whole` to four decimals; `None` when `whole` is 0.
fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

/// Count, mean, median and p90 (nearest rank) of a duration, in seconds; null without samples.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DurationReport {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub average_seconds: Option<f64>,
    /// Nearest-rank median (the lower middle of an even count).
    pub median_seconds: Option<f64>,
    /// Nearest-rank 90th percentile.
    pub p90_seconds: Option<f64>,
}

impl DurationReport {
    /// The report of no samples: a count of 0, every figure null.
    pub fn none() -> Self {
        Self { count: 0, average_seconds: None, median_seconds: None, p90_seconds: None }
    }
}

/// Resolution of the episodes closed in the range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResolutionReport {
    /// Not reopened within 7 days of the close.
    pub resolved: u64,
    /// Reopened within 7 days.
    pub reopened: u64,
    /// Closed less than 7 days before `as_of` and not reopened yet: not in the rate.
    pub pending: u64,
    /// `resolved / (resolved + reopened)`.
    pub rate: Option<f64>,
}

/// Satisfaction of the episodes closed in the range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CsatReport {
    /// Mean of the counting scores.
    pub average: Option<f64>,
    /// Rated episodes per score, scores 1 to 5.
    #[schema(value_type = Vec<u64>)]
    pub distribution: [u64; 5],
    /// Rated episodes.
    pub rated: u64,
    /// `rated / sessions_closed`.
    pub response_rate: Option<f64>,
}

/// One agent's figures in the range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AgentReport {
    /// The agent.
    pub agent_id: UserId,
    /// Sessions received: `assigned + transfers_in`.
    pub handled: u64,
    /// Sessions assigned to them from the queue.
    pub assigned: u64,
    /// Sessions transferred to them.
    pub transfers_in: u64,
    /// Sessions they transferred away.
    pub transfers_out: u64,
    /// First responses credited to them.
    pub first_responses: u64,
    /// Their first response times.
    pub first_response: DurationReport,
    /// Their share (time held) per closed episode they held.
    pub handle: DurationReport,
    /// Episodes closed while assigned to them.
    pub closed: u64,
}

/// The metrics of a range, as the dashboard and the daily report show them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MetricsReport {
    /// Start of the range, inclusive.
    #[serde(with = "crate::domain::timestamp")]
    pub from: OffsetDateTime,
    /// End of the range, exclusive.
    #[serde(with = "crate::domain::timestamp")]
    pub to: OffsetDateTime,
    /// When the events were read.
    #[serde(with = "crate::domain::timestamp")]
    pub as_of: OffsetDateTime,
    /// Sessions created.
    pub sessions_created: u64,
    /// Reopens.
    pub sessions_reopened: u64,
    /// Episodes closed.
    pub sessions_closed: u64,
    /// Time in the queue until assigned.
    pub wait: DurationReport,
    /// Waits ended by a close before any assignment, and how long they lasted.
    pub abandoned: DurationReport,
    /// Time from the start of a wait to the first agent reply.
    pub first_response: DurationReport,
    /// Waits that ended without a reply.
    pub unanswered: u64,
    /// First assignment to close, per episode.
    pub handle: DurationReport,
    /// Closed episodes not reopened within 7 days.
    pub resolution: ResolutionReport,
    /// Customer satisfaction.
    pub csat: CsatReport,
    /// Transfers between agents.
    pub transfers: u64,
    /// Per agent, by id.
    pub agents: Vec<AgentReport>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::domain::Role;

    const DAY: OffsetDateTime = datetime!(2026-11-25 00:00 UTC);

    /// `DAY` plus `days`, at `hh:mm`.
    fn at(days: i64, hour: i64, minute: i64) -> OffsetDateTime {
        DAY + Duration::days(days) + Duration::hours(hour) + Duration::minutes(minute)
    }

    fn session(n: u8) -> SessionId {
        SessionId::parse(&format!("01JD00000000000000000000{n:02}")).unwrap()
    }

    fn agent(name: &str) -> UserId {
        UserId::parse(name).unwrap()
    }

    /// A session's event log written in order, with ids that sort in that order.
    struct Log {
        session_id: SessionId,
        events: Vec<AuditEvent>,
    }

    impl Log {
        fn new(n: u8) -> Self {
            Self { session_id: session(n), events: Vec::new() }
        }

        fn push(mut self, kind: &str, at: OffsetDateTime, details: Value) -> Self {
            let actor = details.get("agent_id").and_then(Value::as_str).unwrap_or("cust-ada").to_owned();
            self.events.push(AuditEvent {
                id: format!("{}-{:04}", self.session_id, self.events.len()),
                kind: kind.to_owned(),
                actor_id: agent(&actor),
                actor_role: if actor == "cust-ada" { Role::Customer } else { Role::Agent },
                target: format!("session:{}", self.session_id),
                session_id: Some(self.session_id),
                at,
                details,
            });
            self
        }

        fn created(self, at: OffsetDateTime) -> Self {
            self.push(
                "session.created",
                at,
                json!({"priority": "normal", "room_id": null, "subject": "help"}),
            )
            .push("session.queued", at, json!({"reason": "created"}))
        }

        fn assigned(self, at: OffsetDateTime, agent_id: &str) -> Self {
            self.push("session.assigned", at, json!({"agent_id": agent_id, "by": "routing"}))
        }

        fn transferred(self, at: OffsetDateTime, from: &str, to: &str) -> Self {
            self.push(
                "session.transferred",
                at,
                json!({"from_agent_id": from, "to_agent_id": to, "reason": "x"}),
            )
        }

        fn replied(self, at: OffsetDateTime, agent_id: &str) -> Self {
            self.push("session.first_response", at, json!({"agent_id": agent_id, "message_id": "m"}))
        }

        fn closed(self, at: OffsetDateTime) -> Self {
            self.push("session.closed", at, json!({"previous_status": "active", "agent_id": null}))
        }

        fn reopened(self, at: OffsetDateTime) -> Self {
            self.push("session.reopened", at, json!({"previous_agent_id": null})).push(
                "session.queued",
                at,
                json!({"reason": "reopened"}),
            )
        }

        fn rated(self, at: OffsetDateTime, score: u8) -> Self {
            self.push("session.rated", at, json!({"score": score, "comment": null, "previous_score": null}))
        }

        /// The facts from the events; every test also checks that the rollup's path (the stored
        /// JSON decoded as lifecycle events) gives the same.
        fn facts(&self) -> SessionFacts {
            let facts = SessionFacts::from_events(self.session_id, &self.events);
            assert_eq!(SessionFacts::from_lifecycle(self.session_id, &as_stored(&self.events)), facts);
            facts
        }
    }

    /// Events as the rollup reads them back from the store.
    fn as_stored(events: &[AuditEvent]) -> Vec<LifecycleEvent> {
        let json = serde_json::to_string(events).unwrap();
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn lifecycle_events_read_like_audit_events_with_odd_details_unknown_kinds_and_repeats() {
        let mut log = plain(1).push("message.edited", at(0, 10, 5), json!({"agent_id": "bob"}));
        // A transfer whose target is not a string, a score out of range, a repeated close.
        log = log.push("session.transferred", at(0, 10, 6), json!({"to_agent_id": 42}));
        log = log.rated(at(0, 10, 30), 9).rated(at(0, 10, 31), 4);
        let repeat = log.events[3].clone();
        log.events.push(repeat);
        let mut other = plain(2).events;
        log.events.append(&mut other);

        let facts = log.facts();

        assert_eq!(facts.episodes.len(), 1);
        assert_eq!(facts.episodes[0].transfers.len(), 0);
        assert_eq!(facts.episodes[0].rating.as_ref().map(|rating| rating.score), Some(4));
        assert_eq!(facts.ignored_events, 3, "the edit, the odd transfer and the score of 9");
    }

    fn seconds(s: i64) -> Option<Duration> {
        Some(Duration::seconds(s))
    }

    /// The summary of day 0, read a month later (every follow-up window over).
    fn day0(sessions: &[SessionFacts]) -> Summary {
        Summary::of(at(0, 0, 0), at(1, 0, 0), at(30, 0, 0), sessions)
    }

    /// Created 10:00, assigned 10:02, first reply 10:03, closed 10:20.
    fn plain(n: u8) -> Log {
        Log::new(n)
            .created(at(0, 10, 0))
            .assigned(at(0, 10, 2), "alice")
            .replied(at(0, 10, 3), "alice")
            .closed(at(0, 10, 20))
    }

    #[test]
    fn plain_session_waits_120_s_is_answered_in_180_s_and_handled_in_1080_s() {
        let facts = plain(1).facts();

        let episode = &facts.episodes[0];
        assert_eq!(facts.episodes.len(), 1);
        assert_eq!(episode.waits[0].wait_time(), seconds(120));
        assert_eq!(episode.waits[0].first_response_time(), seconds(180));
        assert_eq!(episode.handle_time(), seconds(1080));
        assert_eq!(facts.ignored_events, 0);

        let report = day0(&[facts]).report();
        assert_eq!((report.sessions_created, report.sessions_closed), (1, 1));
        assert_eq!(report.wait.average_seconds, Some(120.0));
        assert_eq!(report.first_response.median_seconds, Some(180.0));
        assert_eq!(report.handle.p90_seconds, Some(1080.0));
        assert_eq!((report.unanswered, report.abandoned.count), (0, 0));
        assert_eq!(report.resolution.rate, Some(1.0));
        let alice = &report.agents[0];
        assert_eq!(
            (alice.agent_id.as_str(), alice.handled, alice.first_responses, alice.closed),
            ("alice", 1, 1, 1)
        );
        assert_eq!(alice.handle.average_seconds, Some(1080.0));
    }

    #[test]
    fn report_serialises_in_snake_case_with_seconds() {
        let report = day0(&[plain(1).facts()]).report();

        let json = serde_json::to_value(&report).unwrap();

        assert_eq!(json["first_response"]["average_seconds"], json!(180.0));
        assert_eq!(json["csat"]["distribution"], json!([0, 0, 0, 0, 0]));
        assert_eq!(json["from"], json!("2026-11-25T00:00:00.000Z"));
        assert_eq!(json["agents"][0]["agent_id"], json!("alice"));
    }

    #[test]
    fn reopen_starts_a_second_episode_and_restarts_the_reply_clock() {
        let log = plain(1)
            .reopened(at(0, 11, 0))
            .assigned(at(0, 11, 10), "bob")
            .replied(at(0, 11, 12), "bob")
            .closed(at(0, 11, 30));

        let facts = log.facts();

        assert_eq!((facts.episodes.len(), facts.reopen_count), (2, 1));
        let second = &facts.episodes[1];
        assert_eq!(second.origin, EpisodeOrigin::Reopened);
        assert_eq!(second.waits[0].wait_time(), seconds(600));
        assert_eq!(second.waits[0].first_response_time(), seconds(720));
        assert_eq!(second.handle_time(), seconds(1200));
        assert_eq!(facts.episodes[0].resolved(at(30, 0, 0)), Some(false));
        let report = day0(&[facts]).report();
        assert_eq!((report.sessions_created, report.sessions_reopened, report.sessions_closed), (1, 1, 2));
        assert_eq!(report.first_response.average_seconds, Some(450.0));
        assert_eq!((report.resolution.resolved, report.resolution.reopened), (1, 1));
        assert_eq!(report.resolution.rate, Some(0.5));
    }

    #[test]
    fn a_reopen_after_seven_days_leaves_the_first_close_resolved() {
        let facts = plain(1).reopened(at(8, 10, 0)).facts();

        assert_eq!(facts.episodes[0].resolved(at(30, 0, 0)), Some(true));
    }

    #[test]
    fn resolution_is_pending_until_seven_days_after_the_close() {
        let facts = plain(1).facts();

        let summary = Summary::of(at(0, 0, 0), at(1, 0, 0), at(3, 0, 0), [&facts]);

        let resolution = summary.report().resolution;
        assert_eq!((resolution.resolved, resolution.reopened, resolution.pending), (0, 0, 1));
        assert_eq!(resolution.rate, None);
    }

    #[test]
    fn transfer_credits_the_reply_to_the_assignee_and_splits_handle_time_by_time_held() {
        let log = Log::new(1)
            .created(at(0, 10, 0))
            .assigned(at(0, 10, 1), "alice")
            .transferred(at(0, 10, 5), "alice", "bob")
            .replied(at(0, 10, 6), "bob")
            .closed(at(0, 10, 30));

        let facts = log.facts();

        let episode = &facts.episodes[0];
        assert_eq!(episode.waits[0].first_response.as_ref().map(|r| r.agent_id.as_str()), Some("bob"));
        assert_eq!(episode.handle_time(), seconds(1740), "transfers do not restart it");
        let shares = episode.held_by_agent();
        assert_eq!(shares[&agent("alice")], Duration::seconds(240));
        assert_eq!(shares[&agent("bob")], Duration::seconds(1500));
        let report = day0(&[facts]).report();
        assert_eq!(report.transfers, 1);
        let (alice, bob) = (&report.agents[0], &report.agents[1]);
        assert_eq!((alice.handled, alice.transfers_out, alice.first_responses, alice.closed), (1, 1, 0, 0));
        assert_eq!((bob.handled, bob.transfers_in, bob.first_responses, bob.closed), (1, 1, 1, 1));
        assert_eq!(bob.first_response.average_seconds, Some(360.0));
        assert_eq!(alice.handle.average_seconds, Some(240.0));
        assert_eq!(bob.handle.average_seconds, Some(1500.0));
    }

    #[test]
    fn going_back_to_the_queue_starts_a_new_wait_within_the_episode() {
        let log = Log::new(1)
            .created(at(0, 10, 0))
            .assigned(at(0, 10, 1), "alice")
            .push("session.queued", at(0, 10, 4), json!({"reason": "transferred_back"}))
            .assigned(at(0, 10, 6), "bob")
            .replied(at(0, 10, 7), "bob")
            .closed(at(0, 10, 10));

        let facts = log.facts();

        let episode = &facts.episodes[0];
        assert_eq!(episode.waits.len(), 2);
        assert_eq!(episode.waits[0].unanswered_at, Some(at(0, 10, 4)));
        assert_eq!(episode.waits[1].wait_time(), seconds(120));
        assert_eq!(episode.waits[1].first_response_time(), seconds(180));
        assert_eq!(episode.handle_time(), seconds(540));
        let report = day0(&[facts]).report();
        assert_eq!((report.unanswered, report.first_response.count, report.wait.count), (1, 1, 2));
    }

    #[test]
    fn a_wait_closed_without_a_reply_is_unanswered_and_excluded_from_the_average() {
        let log = Log::new(1).created(at(0, 10, 0)).assigned(at(0, 10, 5), "alice").closed(at(0, 10, 30));

        let report = day0(&[log.facts(), plain(2).facts()]).report();

        assert_eq!(report.unanswered, 1);
        assert_eq!(report.first_response.count, 1);
        assert_eq!(report.first_response.average_seconds, Some(180.0));
        assert_eq!(report.wait.average_seconds, Some(210.0));
    }

    #[test]
    fn a_session_closed_while_waiting_is_an_abandoned_wait() {
        let log = Log::new(1).created(at(0, 10, 0)).closed(at(0, 10, 10));

        let facts = log.facts();

        assert_eq!(facts.episodes[0].waits[0].end, Some(WaitEnd::Abandoned { at: at(0, 10, 10) }));
        assert_eq!(facts.episodes[0].handle_time(), None);
        let report = day0(&[facts]).report();
        assert_eq!((report.wait.count, report.abandoned.count, report.unanswered), (0, 1, 1));
        assert_eq!(report.abandoned.average_seconds, Some(600.0));
        assert_eq!((report.sessions_closed, report.handle.count), (1, 0));
    }

    #[test]
    fn the_latest_rating_within_seven_days_counts() {
        let changed = plain(1).rated(at(0, 10, 25), 3).rated(at(2, 9, 0), 5).rated(at(8, 9, 0), 1);
        let rated = plain(2).rated(at(0, 11, 0), 4);
        let unrated = plain(3);

        let facts = changed.facts();

        let rating = facts.episodes[0].rating.as_ref().unwrap();
        assert_eq!((rating.score, rating.times_given), (5, 2));
        assert_eq!(facts.ignored_events, 1, "the rating eight days after the close");
        let csat = day0(&[facts, rated.facts(), unrated.facts()]).report().csat;
        assert_eq!(csat.distribution, [0, 0, 0, 1, 1]);
        assert_eq!((csat.rated, csat.average), (2, Some(4.5)));
        assert_eq!(csat.response_rate, Some(0.6667));
    }

    #[test]
    fn a_rating_before_the_close_is_ignored() {
        let log = Log::new(1).created(at(0, 10, 0)).rated(at(0, 10, 1), 1).closed(at(0, 10, 2));

        let facts = log.facts();

        assert_eq!((facts.episodes[0].rating.clone(), facts.ignored_events), (None, 1));
    }

    #[test]
    fn events_out_of_order_and_repeated_give_the_same_facts() {
        let log = plain(1).reopened(at(0, 11, 0)).closed(at(0, 11, 5)).rated(at(0, 11, 6), 2);
        let mut shuffled = log.events.clone();
        shuffled.reverse();
        shuffled.swap(1, 5);
        shuffled.extend(log.events.iter().take(4).cloned());

        let facts = SessionFacts::from_events(log.session_id, &shuffled);

        assert_eq!(facts, log.facts());
        assert_eq!(facts.ignored_events, 0);
    }

    #[test]
    fn other_kinds_and_other_sessions_are_ignored() {
        let mut log = plain(1)
            .push("message.edited", at(0, 10, 4), json!({}))
            .push("note.created", at(0, 10, 5), json!({}))
            .push("canned.used", at(0, 10, 6), json!({}));
        log.events.extend(plain(2).created(at(0, 12, 0)).events);

        let facts = log.facts();

        assert_eq!((facts.episodes.len(), facts.ignored_events), (1, 3));
        assert_eq!(facts.episodes[0].handle_time(), seconds(1080));
    }

    #[test]
    fn a_reopen_whose_close_is_not_in_the_events_read_still_starts_an_episode() {
        let log = Log::new(1).reopened(at(0, 9, 0)).assigned(at(0, 9, 1), "alice").closed(at(0, 9, 11));

        let facts = log.facts();

        assert_eq!((facts.episodes.len(), facts.reopen_count, facts.created_at), (1, 1, None));
        assert_eq!(facts.episodes[0].origin, EpisodeOrigin::Reopened);
        assert_eq!(facts.episodes[0].handle_time(), seconds(600));
        let report = day0(&[facts]).report();
        assert_eq!((report.sessions_created, report.sessions_reopened, report.sessions_closed), (0, 1, 1));
    }

    #[test]
    fn a_close_whose_start_is_not_in_the_events_read_counts_without_durations() {
        let log = Log::new(1).replied(at(0, 9, 0), "alice").closed(at(0, 9, 30));

        let report = day0(&[log.facts()]).report();

        assert_eq!((report.sessions_closed, report.handle.count, report.first_response.count), (1, 0, 0));
    }

    #[test]
    fn nearest_rank_percentiles_of_a_known_list() {
        let mut durations = Durations::default();
        for s in [50, 15, 40, 35, 20] {
            durations.push(Duration::seconds(s));
        }

        assert_eq!(durations.percentile_seconds(50), Some(35.0));
        assert_eq!(durations.percentile_seconds(90), Some(50.0));
        assert_eq!(durations.percentile_seconds(30), Some(20.0));
        assert_eq!(durations.percentile_seconds(100), Some(50.0));
        assert_eq!(durations.average_seconds(), Some(32.0));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_lower_middle() {
        let mut durations = Durations::default();
        for ms in 1..=10 {
            durations.push(Duration::milliseconds(ms * 1000 + 1));
        }

        assert_eq!(durations.percentile_seconds(50), Some(5.001));
        assert_eq!(durations.percentile_seconds(90), Some(9.001));
        assert_eq!(durations.average_seconds(), Some(5.501));
        assert_eq!(Durations::default().percentile_seconds(90), None);
    }

    #[test]
    fn the_summary_of_many_sessions_equals_adding_them_one_by_one() {
        let sessions: Vec<SessionFacts> = (0..600_i64)
            .map(|n| {
                let mut log = Log::new(0);
                log.session_id = SessionId::parse(&format!("01JD00000000000000000{n:05}")).unwrap();
                let agent = ["alice", "bob", "carol"][(n % 3) as usize];
                log.created(at(0, n % 20, 0))
                    .assigned(at(0, n % 20, 1 + n % 7), agent)
                    .replied(at(0, n % 20, 9 + n % 5), agent)
                    .closed(at(0, n % 20 + 1, n % 59))
                    .facts()
            })
            .collect();

        let whole = Summary::of(at(0, 0, 0), at(1, 0, 0), at(30, 0, 0), &sessions);

        let mut one_by_one = Summary::new(at(0, 0, 0), at(1, 0, 0), at(30, 0, 0));
        for facts in &sessions {
            one_by_one.add(facts);
        }
        assert_eq!(whole, one_by_one);
        assert_eq!(whole.wait.count(), 600);
        assert!(whole.handle.samples_ms.windows(2).all(|pair| pair[0] <= pair[1]), "samples stay sorted");
    }

    #[test]
    fn merging_two_days_equals_the_summary_of_both() {
        let sessions = [
            plain(1).rated(at(0, 10, 30), 4).facts(),
            Log::new(2)
                .created(at(0, 23, 50))
                .assigned(at(1, 0, 5), "bob")
                .replied(at(1, 0, 6), "bob")
                .facts(),
            Log::new(3)
                .created(at(1, 9, 0))
                .assigned(at(1, 9, 1), "alice")
                .transferred(at(1, 9, 2), "alice", "bob")
                .closed(at(1, 9, 4))
                .rated(at(1, 9, 5), 2)
                .facts(),
            Log::new(4).created(at(1, 10, 0)).closed(at(1, 10, 1)).facts(),
            plain(5).reopened(at(1, 8, 0)).facts(),
        ];
        let as_of = at(3, 0, 0);

        let mut merged = Summary::of(at(0, 0, 0), at(1, 0, 0), as_of, &sessions);
        merged.merge(&Summary::of(at(1, 0, 0), at(2, 0, 0), as_of, &sessions));

        let whole = Summary::of(at(0, 0, 0), at(2, 0, 0), as_of, &sessions);
        assert_eq!(merged, whole);
        assert_eq!(merged.report(), whole.report());
        assert_eq!((whole.created, whole.closed, whole.reopened, whole.transfers), (5, 4, 1, 1));
        assert_eq!(whole.wait.samples_ms, vec![60_000, 120_000, 120_000, 900_000]);
    }

    #[test]
    fn stored_samples_read_back_exactly_in_about_two_bytes_each() {
        let mut durations = Durations::default();
        for ms in [0, 1, 127, 128, 16_383, 16_384, 35_000, 35_000, 86_400_000, u64::from(u32::MAX) * 4] {
            durations.push(Duration::milliseconds(i64::try_from(ms).unwrap()));
        }
        let stored = serde_json::to_value(&durations).unwrap();
        assert_eq!(stored["sum_ms"], json!(durations.sum_ms));
        assert_eq!(serde_json::from_value::<Durations>(stored).unwrap(), durations);

        let mut day = Durations::default();
        for n in 0..5_000u32 {
            day.push(Duration::milliseconds(i64::from(n % 600) * 1_000 + i64::from(n * 7 % 1_000)));
        }
        let packed = serde_json::to_string(&day).unwrap();
        assert!(packed.len() < 5_000 * 3, "{} bytes for 5,000 samples", packed.len());
        assert_eq!(serde_json::from_str::<Durations>(&packed).unwrap(), day);

        for broken in [json!({"sum_ms": 1, "samples": "gA"}), json!({"sum_ms": 1, "samples": "!!"})] {
            assert!(serde_json::from_value::<Durations>(broken).is_err());
        }
    }

    #[test]
    fn a_day_of_events_groups_by_session() {
        let mut events = plain(1).events;
        events.extend(plain(2).events);

        let facts = facts_by_session(&events);

        assert_eq!(facts.iter().map(|f| f.session_id).collect::<Vec<_>>(), vec![session(1), session(2)]);
        assert!(facts.iter().all(|f| f.episodes[0].handle_time() == seconds(1080)));
    }
}

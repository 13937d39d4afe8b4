//! Summaries: the mergeable figures of a time range (overall and per agent), added up from
//! sessions' episodes, and the report the dashboard and the daily reports show. Definitions:
//! `docs/METRICS.md`. Pure: the caller passes the time the events were read (`as_of`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::durations::{DurationReport, Durations};
use super::episodes::{Episode, EpisodeOrigin, SessionFacts, WaitEnd};
use crate::domain::UserId;

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

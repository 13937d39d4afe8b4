//! The analytics the admin dashboard reads from the metric engine (`docs/METRICS.md`): agent
//! performance and satisfaction of a range. Nothing here writes.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::durations::DurationReport;
use super::range::Range;
use super::read::range_summary;
use super::summaries::{AgentReport, CsatReport, MetricsReport};
use crate::domain::{now, Principal, Role, SessionId, UserId};
use crate::error::role_forbidden;
use crate::error::ApiError;
use crate::repo::{comments, stats};
use crate::store::ItemStore;

/// Most rating comments a satisfaction report lists.
pub const MAX_COMMENTS: usize = 50;

// ---------------------------------------------------------------------------------------------
// Agent performance
// ---------------------------------------------------------------------------------------------

/// `GET /admin/chat-dashboard/agent-performance`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AgentPerformance {
    /// The team's figures for the range; its `agents` list is empty (see `agents`).
    pub team: MetricsReport,
    /// Per agent: every agent with activity in the range for admins, only themselves for agents.
    pub agents: Vec<AgentReport>,
    /// Sessions whose history was read.
    pub sessions_read: usize,
}

/// The metric engine's figures of the range, per agent and for the team: admins see every
/// agent, agents only themselves (with zeros when they had no activity).
///
/// Reads: one Query per day of the range on gsi1 `EVENTS#<day>` (paged), then one Query per
/// session touched by a `session.*` event in the range, of its `EVENT#` items (paged).
pub async fn agent_performance(
    store: &dyn ItemStore,
    principal: &Principal,
    range: &Range,
) -> Result<AgentPerformance, ApiError> {
    if principal.role == Role::Customer {
        return Err(role_forbidden("read agent performance"));
    }
    let only = (principal.role == Role::Agent).then_some(&principal.user_id);
    let (summary, sessions_read) = range_summary(store, range, now(), only).await?;
    let mut team = summary.report();
    let mut agents = std::mem::take(&mut team.agents);
    if principal.role == Role::Agent {
        agents.retain(|report| report.agent_id == principal.user_id);
        if agents.is_empty() {
            agents.push(idle_agent(principal.user_id.clone()));
        }
    }
    Ok(AgentPerformance { team, agents, sessions_read })
}

fn idle_agent(agent_id: UserId) -> AgentReport {
    let none = DurationReport::none;
    AgentReport {
        agent_id,
        handled: 0,
        assigned: 0,
        transfers_in: 0,
        transfers_out: 0,
        first_responses: 0,
        first_response: none(),
        handle: none(),
        closed: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Satisfaction
// ---------------------------------------------------------------------------------------------

/// `GET /admin/chat-dashboard/satisfaction`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Satisfaction {
    /// Start of the range, inclusive.
    #[serde(with = "crate::domain::timestamp")]
    pub from: OffsetDateTime,
    /// End of the range, exclusive.
    #[serde(with = "crate::domain::timestamp")]
    pub to: OffsetDateTime,
    /// When the figures were read.
    #[serde(with = "crate::domain::timestamp")]
    pub as_of: OffsetDateTime,
    /// Episodes closed in the range (the base of the response rate).
    pub sessions_closed: u64,
    /// CSAT of the episodes closed in the range (metric engine: the latest rating within 7 days
    /// of each close counts).
    pub csat: CsatReport,
    /// Per UTC day of the range, the ratings given that day (day counters: each session's latest
    /// rating given that day) and their average.
    pub days: Vec<SatisfactionDay>,
    /// Each session's latest rating, when it was given in the range and carries a comment, newest
    /// first, at most 50.
    pub recent_comments: Vec<CsatComment>,
}

/// Ratings given on one UTC day.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SatisfactionDay {
    /// `yyyy-mm-dd`.
    pub day: String,
    /// Ratings given.
    pub ratings: i64,
    /// Their average (1 to 5, four decimals); null without ratings.
    pub average: Option<f64>,
}

/// A customer's words with their rating.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CsatComment {
    /// The session rated.
    pub session_id: SessionId,
    /// The customer.
    pub customer_id: UserId,
    /// 1 to 5.
    pub score: u64,
    /// What they wrote.
    pub comment: String,
    /// When.
    #[serde(with = "crate::domain::timestamp")]
    pub rated_at: OffsetDateTime,
}

/// CSAT of the range (metric engine over the event log, as for agent performance), the day
/// counters of its days (one Query), and the latest comments. Admins only.
pub async fn satisfaction(
    store: &dyn ItemStore,
    principal: &Principal,
    range: &Range,
) -> Result<Satisfaction, ApiError> {
    if principal.role != Role::Admin {
        return Err(role_forbidden("read satisfaction; admins do"));
    }
    let as_of = now();
    let (summary, _) = range_summary(store, range, as_of, None).await?;
    let report = summary.report();
    let days = range.days();
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Err(ApiError::Internal("a checked range has no day".into()));
    };
    let counted: BTreeMap<String, stats::Day> =
        stats::days(store, *first, *last).await?.into_iter().map(|day| (day.day.clone(), day)).collect();
    let days = days
        .iter()
        .map(|day| {
            let text = stats::day_text(*day);
            let counters = counted.get(&text).cloned().unwrap_or_default();
            let ratings = counters.get("ratings");
            let average = (ratings > 0)
                .then(|| (counters.get("rating_sum") as f64 / ratings as f64 * 10_000.0).round() / 10_000.0);
            SatisfactionDay { day: text, ratings, average }
        })
        .collect();
    Ok(Satisfaction {
        from: range.from,
        to: range.to,
        as_of,
        sessions_closed: report.sessions_closed,
        csat: report.csat,
        days,
        recent_comments: recent_comments(store, range).await?,
    })
}

/// Each session's latest rating when it was given in the range and carries a comment, newest
/// first, at most 50: one Query of the rated comments' index (`repo::comments`).
async fn recent_comments(store: &dyn ItemStore, range: &Range) -> Result<Vec<CsatComment>, ApiError> {
    let latest = comments::latest(store, range.from, range.to, MAX_COMMENTS).await?;
    Ok(latest
        .into_iter()
        .map(|entry| CsatComment {
            session_id: entry.session_id,
            customer_id: entry.customer_id,
            score: u64::from(entry.score),
            comment: entry.comment,
            rated_at: entry.rated_at,
        })
        .collect())
}

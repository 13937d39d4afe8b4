//! What the dashboard shows of the floor right now.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// The floor at a glance (`GET /admin/chat-dashboard/overview` and `dashboard.metrics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Overview {
    /// Sessions waiting for an agent.
    pub waiting: i64,
    /// Sessions with an agent.
    pub active: i64,
    /// Sessions closed today (UTC).
    pub closed_today: i64,
    /// Agents online (taking sessions).
    pub agents_online: u32,
    /// Agents away (keeping their sessions; also for a grace period after their last
    /// connection closed).
    pub agents_away: u32,
    /// How long the longest-waiting session has waited, in seconds; null with an empty queue.
    pub longest_wait_seconds: Option<f64>,
    /// Today's satisfaction: ratings given today and their average.
    pub csat_today: CsatToday,
    /// The agents online or away now (their status as of `generated_at`), with their load;
    /// online first, then by load as routing orders them.
    pub agents: Vec<crate::domain::AgentState>,
    /// When the figures were read.
    #[serde(with = "crate::domain::timestamp")]
    pub generated_at: OffsetDateTime,
}

/// Ratings given today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CsatToday {
    /// How many.
    pub ratings: i64,
    /// Their average score (1 to 5); null without ratings.
    pub average: Option<f64>,
}

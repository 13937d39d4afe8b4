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
    /// online first, then by load as routing orders them. A `dashboard.metrics` frame lists the
    /// first of them that fit in one WebSocket message (`agents_complete` false when some were
    /// left out; their `presence` frames still come); the REST overview lists every one.
    pub agents: Vec<crate::domain::AgentState>,
    /// Whether `agents` lists every agent online or away.
    pub agents_complete: bool,
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

/// The most bytes a `dashboard.metrics` frame may take: API Gateway posts a WebSocket message of
/// up to 128 KB; the rest is room for the frame's envelope.
pub const FRAME_BYTES: usize = 120 * 1024;

impl Overview {
    /// The overview as one WebSocket frame may carry it: the agents cut to the first that fit in
    /// [`FRAME_BYTES`] (about 225 bytes an agent, so some 500 of them), `agents_complete` false
    /// when any were left out. The figures' own bytes are never cut.
    pub fn fit_for_frame(mut self) -> Self {
        let json_len = |json: serde_json::Result<Vec<u8>>| json.map_or(usize::MAX, |bytes| bytes.len());
        if json_len(serde_json::to_vec(&self)) <= FRAME_BYTES {
            return self;
        }
        let agents = std::mem::take(&mut self.agents);
        self.agents_complete = false;
        // A JSON array is its items joined by commas: the frame grows by each item and a comma.
        let mut bytes = json_len(serde_json::to_vec(&self));
        for agent in agents {
            let grows =
                json_len(serde_json::to_vec(&agent)).saturating_add(usize::from(!self.agents.is_empty()));
            if bytes.saturating_add(grows) > FRAME_BYTES {
                break;
            }
            bytes += grows;
            self.agents.push(agent);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AgentState, AgentStatus, Capacity, UserId};

    fn floor(agents: usize) -> Overview {
        let at = OffsetDateTime::UNIX_EPOCH;
        let agent = |n: usize| AgentState {
            agent_id: UserId::parse(&format!("agent-{n:05}")).unwrap(),
            name: Some(format!("Agent number {n}")),
            status: AgentStatus::Online,
            capacity: Capacity::new(4).unwrap(),
            active_sessions: 2,
            rooms: Vec::new(),
            status_changed_at: at,
            last_assigned_at: Some(at),
            away_until: None,
            version: 7,
        };
        Overview {
            waiting: 3,
            active: 9,
            closed_today: 40,
            agents_online: agents as u32,
            agents_away: 0,
            longest_wait_seconds: Some(12.5),
            csat_today: CsatToday { ratings: 2, average: Some(4.5) },
            agents: (0..agents).map(agent).collect(),
            agents_complete: true,
            generated_at: at,
        }
    }

    #[test]
    fn a_small_floor_goes_whole_and_a_big_one_is_cut_to_the_first_agents_that_fit() {
        let small = floor(20);
        assert_eq!(small.clone().fit_for_frame(), small);

        let big = floor(2_000);
        let first: Vec<_> = big.agents.iter().map(|a| a.agent_id.clone()).collect();
        let framed = big.fit_for_frame();
        let bytes = serde_json::to_vec(&framed).unwrap().len();
        assert!(bytes <= FRAME_BYTES, "{bytes} bytes");
        assert!(!framed.agents_complete);
        assert!(framed.agents.len() > 300 && framed.agents.len() < 2_000, "{}", framed.agents.len());
        let kept: Vec<_> = framed.agents.iter().map(|a| a.agent_id.clone()).collect();
        assert_eq!(kept, first[..kept.len()], "the first agents, in their order");
        // Cut no more than needed: another agent (under 300 bytes) would not have fitted.
        assert!(bytes > FRAME_BYTES - 300, "{bytes} bytes");
    }
}

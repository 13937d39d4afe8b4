//! Agents on the support floor: their status, capacity and load, and the rooms they serve.

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{InvalidValue, RoomId, UserId};

/// Whether an agent takes sessions now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Routing gives them sessions while they have capacity.
    Online,
    /// Routing skips them; they keep their sessions and may still take or be given one.
    Away,
    /// Not working: nobody may give them a session.
    Offline,
}

impl AgentStatus {
    /// The status's name as in JSON and keys.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Online => "online",
            AgentStatus::Away => "away",
            AgentStatus::Offline => "offline",
        }
    }
}

/// How many sessions an agent serves at once: 1 to 50.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[schema(value_type = u32)]
pub struct Capacity(u32);

impl Capacity {
    /// The largest capacity accepted.
    pub const MAX: u32 = 50;

    /// Validates a capacity.
    pub fn new(value: u32) -> Result<Self, InvalidValue> {
        if (1..=Self::MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(InvalidValue::new("capacity", format!("must be 1 to {}, got {value}", Self::MAX)))
        }
    }

    /// The number of sessions.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Capacity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = i64::deserialize(deserializer)?;
        let value = u32::try_from(value).map_err(|_| {
            serde::de::Error::custom(format!("capacity: must be 1 to {}, got {value}", Self::MAX))
        })?;
        Self::new(value).map_err(serde::de::Error::custom)
    }
}

/// An agent's state on the floor, as stored and as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentState {
    /// The agent.
    pub agent_id: UserId,
    /// Display name, from their token.
    #[serde(default)]
    pub name: Option<String>,
    /// Status as the agent (or the grace period) set it.
    pub status: AgentStatus,
    /// Most sessions served at once.
    pub capacity: Capacity,
    /// Sessions assigned to them and not closed or transferred away.
    pub active_sessions: u32,
    /// The rooms they serve; empty means every room. Sessions without a room go to anyone.
    #[serde(default)]
    pub rooms: Vec<RoomId>,
    /// When the status last changed.
    #[serde(with = "crate::domain::timestamp")]
    pub status_changed_at: OffsetDateTime,
    /// When they were last given a session (routing breaks ties by the longest idle).
    #[serde(default, with = "crate::domain::timestamp::option")]
    pub last_assigned_at: Option<OffsetDateTime>,
    /// Set when their last connection closed while online: they show away until then, offline
    /// after; a new connection before then brings them back online.
    #[serde(default, with = "crate::domain::timestamp::option")]
    pub away_until: Option<OffsetDateTime>,
    /// Changes with every write; writes are conditional on the version they read, so two
    /// concurrent changes (an assignment and a status change) never overwrite each other.
    #[serde(default)]
    pub version: u64,
}

impl AgentState {
    /// The status as seen at `at`: an agent away after losing their connection is offline once
    /// the grace period ends.
    pub fn status_at(&self, at: OffsetDateTime) -> AgentStatus {
        match (self.status, self.away_until) {
            (AgentStatus::Away, Some(until)) if at >= until => AgentStatus::Offline,
            (status, _) => status,
        }
    }

    /// Whether they serve sessions of `room` (sessions without a room go to anyone).
    pub fn serves(&self, room: Option<&RoomId>) -> bool {
        match room {
            None => true,
            Some(room) => self.rooms.is_empty() || self.rooms.contains(room),
        }
    }

    /// Whether routing may give them one more session at `at`.
    pub fn has_free_capacity(&self, at: OffsetDateTime) -> bool {
        self.status_at(at) == AgentStatus::Online && self.active_sessions < self.capacity.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(status: AgentStatus, away_until: Option<OffsetDateTime>) -> AgentState {
        AgentState {
            agent_id: UserId::parse("agent-x").unwrap_or_else(|e| panic!("{e}")),
            name: None,
            status,
            capacity: Capacity(2),
            active_sessions: 1,
            rooms: Vec::new(),
            status_changed_at: OffsetDateTime::UNIX_EPOCH,
            last_assigned_at: None,
            away_until,
            version: 1,
        }
    }

    #[test]
    fn capacities_outside_one_to_fifty_are_refused() {
        assert!(Capacity::new(0).is_err());
        assert!(Capacity::new(51).is_err());
        assert_eq!(Capacity::new(50).map(Capacity::get), Ok(50));
        assert!(serde_json::from_str::<Capacity>("-1").is_err());
        assert!(serde_json::from_str::<Capacity>("4294967297").is_err());
    }

    #[test]
    fn a_lost_connection_shows_away_until_the_grace_period_ends() {
        let until = OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(2);
        let away = agent(AgentStatus::Away, Some(until));
        assert_eq!(away.status_at(until - time::Duration::seconds(1)), AgentStatus::Away);
        assert_eq!(away.status_at(until), AgentStatus::Offline);
        assert_eq!(agent(AgentStatus::Away, None).status_at(until), AgentStatus::Away);
        assert!(!away.has_free_capacity(OffsetDateTime::UNIX_EPOCH));
        assert!(agent(AgentStatus::Online, None).has_free_capacity(until));
    }
}

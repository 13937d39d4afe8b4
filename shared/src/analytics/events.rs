//! The events the metric engine reads: the session lifecycle kinds, and a stored event decoded
//! with only the fields the metrics use. Definitions: `docs/METRICS.md`.

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::domain::{AuditEvent, SessionId, UserId};

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
pub(super) struct Step<'a> {
    pub(super) id: &'a str,
    pub(super) kind: LifecycleKind,
    pub(super) at: OffsetDateTime,
    pub(super) actor_id: &'a UserId,
    pub(super) reason: Option<&'a str>,
    pub(super) agent_id: Option<&'a str>,
    pub(super) to_agent_id: Option<&'a str>,
    pub(super) from_agent_id: Option<&'a str>,
    pub(super) score: Option<u64>,
}

impl<'a> Step<'a> {
    pub(super) fn of_audit(event: &'a AuditEvent) -> Self {
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

    pub(super) fn of_lifecycle(event: &'a LifecycleEvent) -> Self {
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

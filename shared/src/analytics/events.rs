//! The events the metric engine reads: a stored event decoded with only the fields the metrics
//! use, and one event as the episode state machine applies it (of the session lifecycle kinds of
//! [`EventKind`], the rest ignored). Definitions: `docs/METRICS.md`.

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::domain::{AuditEvent, EventKind, LoggedKind, SessionId, UserId};

/// A stored event as the engine reads it, decoded straight from its JSON with only the fields
/// the metrics use (an [`AuditEvent`] decodes all of them, its details into a map): what the
/// rollup reads for every session of a day. Details of an unexpected type read as absent, as
/// they do from an [`AuditEvent`].
#[derive(Debug, Clone, Deserialize)]
pub struct LifecycleEvent {
    /// Event id.
    pub id: String,
    /// Its kind.
    pub kind: LoggedKind,
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
    /// `None` for a kind this build does not know.
    pub(super) kind: Option<EventKind>,
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
            kind: event.kind.known(),
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
            kind: event.kind.known(),
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

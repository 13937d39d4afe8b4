//! What a change record means: typed effects, read from the record's old and new image.

use crate::domain::{AgentState, AuditEvent, Message, Session};
use crate::error::ApiError;
use crate::repo::connections::{self, Connection};
use crate::repo::{self, agents, messages, sessions};
use crate::store::changes::{ChangeKind, ChangeRecord};

/// Something that happened, as the reactions see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A message was stored.
    MessageCreated(Message),
    /// A session record changed (`old` as it was, `new` as it is now).
    SessionUpdated {
        /// The session before the change.
        old: Box<Session>,
        /// The session after it.
        new: Box<Session>,
    },
    /// A session was opened (its record written for the first time).
    SessionCreated(Box<Session>),
    /// An event was recorded in a session's log (who did what to it, in the same transaction as
    /// the change itself).
    SessionEventRecorded(Box<AuditEvent>),
    /// An agent's floor state was written: by a connection that came or went, by the agent
    /// (`PUT /agent/status`), by an admin, by an assignment or a close (their load).
    AgentChanged {
        /// The state before (none: the agent's first status).
        old: Option<Box<AgentState>>,
        /// The state after.
        new: Box<AgentState>,
    },
    /// A WebSocket connection was registered (`$connect`).
    ConnectionOpened(Box<Connection>),
    /// A connection's record was deleted: `$disconnect`, a post that found it gone (410), or its
    /// TTL (DynamoDB deletes expired connections, and the stream carries that too).
    ConnectionGone(Box<Connection>),
}

/// The kinds of change a reaction follows, told from a record's keys and event name alone; every
/// other record has no effect. The change feed's event-source mapping in the template filters
/// the stream with the same rules (`FilterCriteria`, checked against this function by
/// `tests/tests/template.rs`), so a record nothing follows never invokes the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    /// A message inserted.
    MessageInserted,
    /// A session's record inserted.
    SessionInserted,
    /// A session's record modified.
    SessionModified,
    /// An event inserted into a session's log.
    SessionEventInserted,
    /// An agent's floor state inserted or modified.
    AgentWritten,
    /// A connection inserted.
    ConnectionInserted,
    /// A connection removed.
    ConnectionRemoved,
}

/// What kind of followed change a record is, if any.
pub fn followed(pk: &str, sk: &str, kind: ChangeKind) -> Option<Followed> {
    use ChangeKind::{Insert, Modify, Remove};
    if messages::is_message_key(pk, sk) {
        return (kind == Insert).then_some(Followed::MessageInserted);
    }
    if sessions::is_record_key(pk, sk) {
        return match kind {
            Insert => Some(Followed::SessionInserted),
            Modify => Some(Followed::SessionModified),
            Remove => None,
        };
    }
    if sessions::is_event_key(pk, sk) {
        return (kind == Insert).then_some(Followed::SessionEventInserted);
    }
    if agents::is_state_key(pk, sk) {
        return (kind != Remove).then_some(Followed::AgentWritten);
    }
    if connections::is_connection_key(pk, sk) {
        return match kind {
            Insert => Some(Followed::ConnectionInserted),
            Remove => Some(Followed::ConnectionRemoved),
            Modify => None,
        };
    }
    None
}

/// The effects of one change record: one for a record of a [`Followed`] kind, none for the rest
/// (counters, markers, claims, subscriptions...). An image of a followed kind that cannot be
/// read is an error: the record ends as a failed change, for an admin to look at.
pub fn of_record(record: &ChangeRecord) -> Result<Vec<Effect>, ApiError> {
    let image = |image: &Option<crate::store::Item>| {
        image.clone().ok_or_else(|| ApiError::Internal(format!("change {} lacks an image", record.sequence)))
    };
    let Some(followed) = followed(&record.pk, &record.sk, record.kind) else { return Ok(Vec::new()) };
    let effect = match followed {
        Followed::MessageInserted => Effect::MessageCreated(repo::from_item(image(&record.new)?)?),
        Followed::SessionModified => Effect::SessionUpdated {
            old: Box::new(repo::from_item(image(&record.old)?)?),
            new: Box::new(repo::from_item(image(&record.new)?)?),
        },
        Followed::SessionInserted => Effect::SessionCreated(Box::new(repo::from_item(image(&record.new)?)?)),
        Followed::SessionEventInserted => {
            Effect::SessionEventRecorded(Box::new(repo::from_item(image(&record.new)?)?))
        }
        Followed::AgentWritten => Effect::AgentChanged {
            old: record.old.clone().map(repo::from_item).transpose()?.map(Box::new),
            new: Box::new(repo::from_item(image(&record.new)?)?),
        },
        Followed::ConnectionInserted => {
            Effect::ConnectionOpened(Box::new(repo::from_item(image(&record.new)?)?))
        }
        Followed::ConnectionRemoved => {
            Effect::ConnectionGone(Box::new(repo::from_item(image(&record.old)?)?))
        }
    };
    Ok(vec![effect])
}

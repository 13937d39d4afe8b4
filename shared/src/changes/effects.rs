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

/// The effects of one change record: none for the items no reaction follows (counters,
/// markers, connections...). An image of a known kind that cannot be read is an error: the
/// record ends as a failed change, for an admin to look at.
pub fn of_record(record: &ChangeRecord) -> Result<Vec<Effect>, ApiError> {
    let image = |image: &Option<crate::store::Item>| {
        image.clone().ok_or_else(|| ApiError::Internal(format!("change {} lacks an image", record.sequence)))
    };
    if messages::is_message_key(&record.pk, &record.sk) {
        return Ok(match record.kind {
            ChangeKind::Insert => vec![Effect::MessageCreated(repo::from_item(image(&record.new)?)?)],
            ChangeKind::Modify | ChangeKind::Remove => Vec::new(),
        });
    }
    if sessions::is_record_key(&record.pk, &record.sk) {
        return Ok(match record.kind {
            ChangeKind::Modify => vec![Effect::SessionUpdated {
                old: Box::new(repo::from_item(image(&record.old)?)?),
                new: Box::new(repo::from_item(image(&record.new)?)?),
            }],
            ChangeKind::Insert => {
                vec![Effect::SessionCreated(Box::new(repo::from_item(image(&record.new)?)?))]
            }
            ChangeKind::Remove => Vec::new(),
        });
    }
    if sessions::is_event_key(&record.pk, &record.sk) {
        return Ok(match record.kind {
            ChangeKind::Insert => {
                vec![Effect::SessionEventRecorded(Box::new(repo::from_item(image(&record.new)?)?))]
            }
            ChangeKind::Modify | ChangeKind::Remove => Vec::new(),
        });
    }
    if agents::is_state_key(&record.pk, &record.sk) {
        return Ok(match record.kind {
            ChangeKind::Insert | ChangeKind::Modify => vec![Effect::AgentChanged {
                old: record.old.clone().map(repo::from_item).transpose()?.map(Box::new),
                new: Box::new(repo::from_item(image(&record.new)?)?),
            }],
            ChangeKind::Remove => Vec::new(),
        });
    }
    if connections::is_connection_key(&record.pk, &record.sk) {
        return Ok(match record.kind {
            ChangeKind::Insert => {
                vec![Effect::ConnectionOpened(Box::new(repo::from_item(image(&record.new)?)?))]
            }
            ChangeKind::Remove => {
                vec![Effect::ConnectionGone(Box::new(repo::from_item(image(&record.old)?)?))]
            }
            ChangeKind::Modify => Vec::new(),
        });
    }
    Ok(Vec::new())
}

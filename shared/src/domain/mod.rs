//! Pure domain: identifiers, roles, validated values and the records of the chat. No I/O.

mod agents;
mod dashboard;
mod event_kind;
mod ids;
pub mod push;
mod records;
pub mod timestamp;
pub mod tools;
mod values;
pub mod widget;

pub use agents::{AgentState, AgentStatus, Capacity};
pub use dashboard::{CsatToday, Overview};
pub use event_kind::{EventKind, LoggedKind};
pub use ids::{next_ulid, ClientMessageId, ConnectionId, MessageId, RoomId, SessionId, UserId};
pub use ids::{AttachmentId, CannedResponseId, JobId, NoteId, SiteId};
pub use records::{AuditEvent, Block, Message, Participant, Rating, ReadMarker, Room, Session};
pub use values::{
    MessageBody, Principal, Priority, RatingComment, Role, RoomName, Score, SessionStatus, Subject,
    TransferReason,
};

/// Reasons a value from a client is not acceptable, phrased for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidValue {
    /// The field or parameter that was wrong.
    pub field: &'static str,
    /// What was wrong with it.
    pub reason: String,
}

impl InvalidValue {
    /// A new explanation for a field.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self { field, reason: reason.into() }
    }
}

/// The current time, truncated to milliseconds so it survives storage and RFC 3339 unchanged.
pub fn now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(now.millisecond() as u32 * 1_000_000).unwrap_or(now)
}

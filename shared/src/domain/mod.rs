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
pub use records::{AuditEvent, Block, Channel, Message, Participant, Rating, ReadMarker, Room, Session};
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
/// In builds with the `sim-clock` feature (the scale simulator only), the time the simulation
/// set, if it set one.
pub fn now() -> time::OffsetDateTime {
    #[cfg(feature = "sim-clock")]
    if let Some(simulated) = clock::simulated() {
        return simulated;
    }
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(now.millisecond() as u32 * 1_000_000).unwrap_or(now)
}

/// Waits until `at` (epoch milliseconds) and returns `true`. In builds with the `sim-clock`
/// feature, while a simulation sets the time, it does not wait: it returns whether the
/// simulated time has reached `at` (the simulation moves its clock itself, and a wait for a
/// later time would stall it).
pub async fn wait_until_ms(at: i64) -> bool {
    let wait = at - (now().unix_timestamp_nanos() / 1_000_000) as i64;
    #[cfg(feature = "sim-clock")]
    if clock::simulated().is_some() {
        return wait <= 0;
    }
    tokio::time::sleep(std::time::Duration::from_millis(u64::try_from(wait).unwrap_or(0))).await;
    true
}

/// A clock the scale simulator sets, so an hour of load runs in minutes of wall time. Only
/// builds with the `sim-clock` feature have it: the functions read the system clock without a
/// branch.
#[cfg(feature = "sim-clock")]
pub mod clock {
    use std::sync::atomic::{AtomicI64, Ordering};

    /// Simulated epoch milliseconds; 0: not simulated.
    static SIMULATED_MS: AtomicI64 = AtomicI64::new(0);

    /// Sets the simulated time (epoch milliseconds, from 1); [`super::now`] and new ids read it.
    pub fn set(epoch_ms: i64) {
        SIMULATED_MS.store(epoch_ms.max(1), Ordering::SeqCst);
    }

    /// The simulated time, when one is set.
    pub fn simulated() -> Option<time::OffsetDateTime> {
        match SIMULATED_MS.load(Ordering::SeqCst) {
            0 => None,
            ms => time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok(),
        }
    }
}

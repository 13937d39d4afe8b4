//! The waiting customers' view of the queue, live: after each change that moves the queue (a
//! routing pass or an admin assigned sessions, a waiting session closed) or its estimate (an
//! agent's status changed), each of the first waiting sessions hears its place and estimated
//! wait. A session that joins the queue learns its place in the answer that opened it and in the
//! `subscribed` reply; one joining ahead of others (a higher priority) moves them at the next
//! change.

use crate::app::App;
use crate::domain::SessionStatus;
use crate::error::ApiError;
use crate::realtime::frames::ServerFrame;
use crate::repo::sessions::{self, SessionListing};

use super::live::{self, Skip};

/// How many sessions at the head of the queue are told their place: their places move most and
/// soonest. A session further back hears it once it is among them (and reads it any time in
/// `GET /chat/sessions/{id}`); telling the whole queue would cost one read per waiting session.
pub const TOLD_SESSIONS: usize = 20;

/// `queue.updated` to the subscribers of each of the first [`TOLD_SESSIONS`] waiting sessions
/// (in queue order, with its estimate). Never fails the change that caused it.
pub async fn tell_waiting(app: &App) {
    if let Err(error) = tell(app).await {
        tracing::warn!(%error, "telling the waiting sessions their places failed");
    }
}

async fn tell(app: &App) -> Result<(), ApiError> {
    let store = app.store.as_ref();
    let listing = SessionListing::Status(SessionStatus::Waiting);
    let (head, _) = sessions::list(store, &listing, None, TOLD_SESSIONS, None).await?;
    if head.is_empty() {
        return Ok(());
    }
    // The page starts at the head of the queue: places are 1, 2, ... without reading what is
    // ahead of each.
    let (capacity, handle) = super::routing::estimate_inputs(store).await?;
    for (place, session) in head.iter().enumerate() {
        let queue_position = u32::try_from(place + 1).unwrap_or(u32::MAX);
        let frame = ServerFrame::QueueUpdated {
            session_id: session.id,
            queue_position,
            estimated_wait_seconds: super::routing::wait_estimate(queue_position, capacity, handle),
        };
        live::publish(app, &session.id, &frame, Skip::Nobody).await;
    }
    Ok(())
}

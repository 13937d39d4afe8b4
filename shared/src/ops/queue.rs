//! The waiting customers' view of the queue, live: after each change that moves the queue (a
//! routing pass or an admin assigned sessions, a waiting session closed) or its estimate (an
//! agent's status changed), each of the first waiting sessions hears its place and estimated
//! wait. A session that joins the queue learns its place in the answer that opened it and in the
//! `subscribed` reply; one joining ahead of others (a higher priority) moves them at the next
//! change.

use crate::app::App;
use crate::domain::{now, AgentStatus, SessionStatus};
use crate::error::ApiError;
use crate::realtime::frames::ServerFrame;
use crate::repo::sessions::{self, SessionListing};
use crate::repo::{agents, stats};
use crate::store::ItemStore;

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
    let (capacity, handle) = estimate_inputs(store).await?;
    for (place, session) in head.iter().enumerate() {
        let queue_position = u32::try_from(place + 1).unwrap_or(u32::MAX);
        let frame = ServerFrame::QueueUpdated {
            session_id: session.id,
            queue_position,
            estimated_wait_seconds: wait_estimate(queue_position, capacity, handle),
        };
        live::publish(app, &session.id, &frame, Skip::Nobody).await;
    }
    Ok(())
}

/// Average handle time assumed for the wait estimate before any session was closed today.
pub const DEFAULT_HANDLE_SECONDS: u64 = 600;

/// The inputs of the wait estimate: the online agents' total capacity and the average handle
/// time of the sessions closed today (or [`DEFAULT_HANDLE_SECONDS`]).
pub(crate) async fn estimate_inputs(store: &dyn ItemStore) -> Result<(u64, u64), ApiError> {
    let at = now();
    let capacity: u64 = agents::in_status(store, AgentStatus::Online)
        .await?
        .iter()
        .filter(|a| a.status_at(at) == AgentStatus::Online)
        .map(|a| u64::from(a.capacity.get()))
        .sum();
    let today = stats::day(store, at.date()).await?;
    let handled = today.get("handled");
    let handle = match u64::try_from(today.get("handle_seconds")) {
        Ok(total) if handled > 0 => total / handled.unsigned_abs(),
        _ => DEFAULT_HANDLE_SECONDS,
    };
    Ok((capacity, handle))
}

/// `position × handle ÷ capacity`, rounded up; unknown (`None`) with nobody online.
pub fn wait_estimate(position: u32, online_capacity: u64, handle_seconds: u64) -> Option<u64> {
    (online_capacity > 0).then(|| (u64::from(position) * handle_seconds).div_ceil(online_capacity))
}

#[cfg(test)]
mod tests {
    use super::wait_estimate;

    #[test]
    fn the_wait_estimate_shares_the_queue_among_the_online_capacity() {
        assert_eq!(wait_estimate(1, 0, 600), None);
        assert_eq!(wait_estimate(1, 10, 600), Some(60));
        assert_eq!(wait_estimate(3, 4, 100), Some(75));
        assert_eq!(wait_estimate(1, 3, 100), Some(34));
    }
}

//! Routing: the highest-priority, longest-waiting session in a room an agent serves goes to
//! the online agent with the fewest active sessions below capacity (ties: the longest idle).
//!
//! Race-safe without locks: an assignment is one transaction that holds only if the session
//! still waits and the agent's state is still the version read (so their load and status did
//! not change meanwhile). A dispatcher whose transaction fails re-reads and tries again, and
//! every failure means another dispatcher made progress, so concurrent creations and status
//! changes end with no session assigned twice and no agent over capacity.

use std::collections::BTreeSet;

use serde_json::json;

use crate::app::App;
use crate::domain::{now, AgentState, AgentStatus, Principal, Role, Session, SessionId, SessionStatus};
use crate::error::ApiError;
use crate::repo::sessions::{self, SessionListing};
use crate::repo::{agents, events, stats};
use crate::store::{Cursor, ItemStore, TxOp};

use super::failed_conditions;

/// Attempts of one dispatch (each either assigns a session or lost a race to one that did).
const MAX_ATTEMPTS: usize = 200;
/// Waiting sessions read per page while looking for one an agent serves.
const QUEUE_PAGE: usize = 100;
/// Pages of the queue read per attempt (sessions of rooms nobody free serves are skipped).
const QUEUE_PAGES: usize = 10;
/// Average handle time assumed for the wait estimate before any session was closed today.
pub const DEFAULT_HANDLE_SECONDS: u64 = 600;

/// How a session came to its agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignedBy {
    /// By routing.
    Routing,
    /// By an admin, or an agent taking it.
    Manual,
}

impl AssignedBy {
    fn as_str(self) -> &'static str {
        match self {
            AssignedBy::Routing => "routing",
            AssignedBy::Manual => "manual",
        }
    }
}

/// The transaction that gives a waiting `session` to the agent in state `agent`: fails (at
/// index 0) if the session no longer waits, (at index 1) if the agent's state changed.
pub(crate) fn assignment(
    actor: &Principal,
    session: &Session,
    agent: &AgentState,
    by: AssignedBy,
    at: time::OffsetDateTime,
) -> Result<(Vec<TxOp>, Session, AgentState), ApiError> {
    let (assign, assigned) = sessions::assign(session, &agent.agent_id, at)?;
    let mut loaded = agent.clone();
    loaded.active_sessions += 1;
    loaded.last_assigned_at = Some(at);
    loaded.version += 1;
    let participant = sessions::participant(session.id, &agent.agent_id, Role::Agent, agent.name.clone(), at);
    let ops = vec![
        assign,
        agents::put(&loaded, Some(agent))?,
        sessions::put_participant(&participant)?,
        events::record(
            actor,
            "session.assigned",
            &sessions::partition(&session.id),
            format!("session:{}", session.id),
            Some(session.id),
            json!({"agent_id": agent.agent_id, "by": by.as_str()}),
            at,
        )?,
    ];
    Ok((ops, assigned, loaded))
}

/// Gives waiting sessions to online agents with free capacity until no pair is left; returns
/// the sessions it assigned (already counted; the caller announces them).
pub async fn dispatch(app: &App, actor: &Principal) -> Result<Vec<Session>, ApiError> {
    let store = app.store.as_ref();
    let mut assigned = Vec::new();
    let mut lost: BTreeSet<SessionId> = BTreeSet::new();
    for _ in 0..MAX_ATTEMPTS {
        let at = now();
        let mut free: Vec<AgentState> = agents::in_status(store, AgentStatus::Online)
            .await?
            .into_iter()
            .filter(|agent| agent.has_free_capacity(at))
            .collect();
        if free.is_empty() {
            break;
        }
        free.sort_by_key(|agent| {
            (
                agent.active_sessions,
                agent.last_assigned_at.unwrap_or(agent.status_changed_at),
                agent.agent_id.clone(),
            )
        });
        let Some((agent, session)) = next_pair(store, &free, &lost).await? else { break };
        // The index may lag: decide on the agent's state as stored now.
        let Some(agent) = agents::get(store, &agent.agent_id).await?.filter(|a| a.has_free_capacity(at))
        else {
            continue;
        };
        if !agent.serves(session.room_id.as_ref()) {
            continue;
        }
        let (ops, session_now, _) = assignment(actor, &session, &agent, AssignedBy::Routing, at)?;
        let failed = failed_conditions(store.transact_write(ops).await)?;
        if failed.is_empty() {
            tracing::info!(session_id = %session.id, agent_id = %agent.agent_id, "session routed");
            stats::count(store, at, stats::Change::Assigned).await;
            assigned.push(session_now);
        } else if failed.contains(&0) {
            lost.insert(session.id);
        }
    }
    Ok(assigned)
}

/// The best (agent, session) pair: for the least loaded agent first, the first session in queue
/// order that they serve.
async fn next_pair(
    store: &dyn ItemStore,
    free: &[AgentState],
    lost: &BTreeSet<SessionId>,
) -> Result<Option<(AgentState, Session)>, ApiError> {
    let mut cursor: Option<Cursor> = None;
    let mut queue: Vec<Session> = Vec::new();
    for _ in 0..QUEUE_PAGES {
        let (page, next) =
            sessions::list(store, &SessionListing::Status(SessionStatus::Waiting), None, QUEUE_PAGE, cursor)
                .await?;
        queue.extend(page.into_iter().filter(|s| !lost.contains(&s.id)));
        for agent in free {
            if let Some(session) = queue.iter().find(|s| agent.serves(s.room_id.as_ref())) {
                return Ok(Some((agent.clone(), session.clone())));
            }
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(None)
}

/// Fills in a waiting session's `queue_position` (1 = next; sessions ahead of it in queue
/// order, whatever their room) and `estimated_wait_seconds`; clears both otherwise.
pub async fn annotate(store: &dyn ItemStore, session: &mut Session) -> Result<(), ApiError> {
    annotate_each(store, std::slice::from_mut(session)).await
}

/// [`annotate`] for each session of a list (the estimate's inputs are read once; each waiting
/// session costs one Query of the queue ahead of it).
pub async fn annotate_each(store: &dyn ItemStore, list: &mut [Session]) -> Result<(), ApiError> {
    let mut inputs = None;
    for session in list.iter_mut() {
        session.queue_position = None;
        session.estimated_wait_seconds = None;
        if session.status != SessionStatus::Waiting {
            continue;
        }
        let (capacity, handle) = match inputs {
            Some(known) => known,
            None => *inputs.insert(estimate_inputs(store).await?),
        };
        let ahead = sessions::waiting_ahead(store, session).await?;
        let position = u32::try_from(ahead + 1).unwrap_or(u32::MAX);
        session.queue_position = Some(position);
        session.estimated_wait_seconds = wait_estimate(position, capacity, handle);
    }
    Ok(())
}

/// Fills in the queue positions of one page of the waiting queue (in queue order).
pub async fn annotate_queue(store: &dyn ItemStore, page: &mut [Session]) -> Result<(), ApiError> {
    let Some(first) = page.first() else { return Ok(()) };
    if first.status != SessionStatus::Waiting {
        return Ok(());
    }
    let ahead = sessions::waiting_ahead(store, first).await?;
    let (capacity, handle) = estimate_inputs(store).await?;
    for (offset, session) in page.iter_mut().enumerate() {
        let position = u32::try_from(ahead + offset + 1).unwrap_or(u32::MAX);
        session.queue_position = Some(position);
        session.estimated_wait_seconds = wait_estimate(position, capacity, handle);
    }
    Ok(())
}

/// The inputs of the wait estimate: the online agents' total capacity and the average handle
/// time of the sessions closed today (or [`DEFAULT_HANDLE_SECONDS`]).
async fn estimate_inputs(store: &dyn ItemStore) -> Result<(u64, u64), ApiError> {
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

/// Routes what can be routed now and announces each assignment; failures are logged (the
/// change that triggered it is stored, and the next trigger routes again).
pub async fn dispatch_and_announce(app: &App, actor: &Principal) {
    match dispatch(app, actor).await {
        Ok(routed) => {
            for session in &routed {
                announce_assignment(app, &actor.user_id, session).await;
            }
        }
        Err(error) => tracing::warn!(%error, "routing failed"),
    }
}

/// After `session` got its agent (routed, assigned or transferred by `actor`):
/// `session.updated` to its subscribers and to every connection of the new agent (who is not
/// subscribed yet), a push to participants who are not connected, and the live dashboard.
pub async fn announce_assignment(app: &App, actor: &crate::domain::UserId, session: &Session) {
    let delivery = super::live::session_updated(app, session).await;
    let mut reached = delivery.reached;
    if let Some(agent) = &session.agent_id {
        if !reached.contains(agent) {
            let frame = crate::realtime::frames::ServerFrame::SessionUpdated { session: session.clone() };
            if super::live::to_user(app, agent, &frame).await.posted > 0 {
                reached.insert(agent.clone());
            }
        }
    }
    super::pushes::session_update(app, session, actor, &reached).await;
    super::dashboard::changed(app).await;
}

//! Routing: the highest-priority, longest-waiting session in a room an agent serves goes to
//! the online agent with the fewest active sessions below capacity (ties: the longest idle).
//!
//! Race-safe: an assignment is one transaction that holds only if the session still waits and
//! the agent's state is still the version read (so their load and status did not change
//! meanwhile): no session is assigned twice and no agent goes over capacity, whatever runs at
//! once (manual assignments and status changes included).
//!
//! One dispatcher routes at a time, holding a lease (`ROUTING` / `LEASE`, 30 s): a trigger that
//! finds it held asks the holder to run once more and returns, so a burst of 100 new sessions
//! is routed by one dispatcher in queue order instead of 100 racing over the same agent. A
//! trigger when no online agent has room takes no lease at all.

use std::collections::BTreeSet;

use serde_json::json;

use crate::app::App;
use crate::domain::{now, AgentState, AgentStatus, Principal, Role, Session, SessionId, SessionStatus};
use crate::error::ApiError;
use crate::repo::sessions::{self, SessionListing};
use crate::repo::{agents, events, stats};
use crate::store::{Cursor, ItemStore, TxOp};

use super::failed_conditions;

/// Failed assignments one routing pass tolerates (each means a manual assignment or a status
/// change got there first) before it leaves the rest to the next trigger.
const MAX_FAILURES: usize = 50;
/// Waiting sessions read per page.
const QUEUE_PAGE: usize = 200;
/// Pages of the queue read at once (sessions of rooms nobody free serves are skipped over).
const QUEUE_PAGES: usize = 5;
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

/// How long a dispatcher holds the routing lease before another may take it over.
const LEASE_MS: i64 = 30_000;

/// Gives waiting sessions to online agents with free capacity until no pair is left; returns
/// the sessions it assigned (already counted; the caller announces them). Returns none when
/// another dispatcher is routing (it was asked to run once more, and announces its own).
pub async fn dispatch(app: &App, actor: &Principal) -> Result<Vec<Session>, ApiError> {
    let store = app.store.as_ref();
    let at = now();
    let free: Vec<AgentState> = agents::in_status(store, AgentStatus::Online)
        .await?
        .into_iter()
        .filter(|agent| agent.has_free_capacity(at))
        .collect();
    if free.is_empty() {
        return Ok(Vec::new());
    }
    let holder = crate::domain::next_ulid().to_string();
    if agents::lead(store, &holder, epoch_ms(), LEASE_MS).await? == agents::Lead::Handed {
        return Ok(Vec::new());
    }
    let mut assigned = Vec::new();
    // The first pass starts from the agents just read; a pass asked for again reads them anew.
    let mut first = Some(free);
    loop {
        match route_all(app, actor, first.take()).await {
            Ok(routed) => assigned.extend(routed),
            Err(error) => {
                if let Err(release_error) = agents::release(store, &holder, epoch_ms(), LEASE_MS).await {
                    tracing::warn!(%release_error, "releasing the routing lease failed; it expires");
                }
                return Err(error);
            }
        }
        if agents::release(store, &holder, epoch_ms(), LEASE_MS).await? {
            return Ok(assigned);
        }
    }
}

fn epoch_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// One routing pass (under the lease): assigns until no (agent, session) pair is left. The
/// agents and the queue are read once and kept up to date with its own assignments; a failed
/// assignment (a manual one or a status change got there first) reads them again.
async fn route_all(
    app: &App,
    actor: &Principal,
    free: Option<Vec<AgentState>>,
) -> Result<Vec<Session>, ApiError> {
    let store = app.store.as_ref();
    let mut assigned = Vec::new();
    let mut lost: BTreeSet<SessionId> = BTreeSet::new();
    let mut failures = 0;
    // The free agents and the queue as last read (and kept up to date since).
    let mut known: Option<(Vec<AgentState>, Vec<Session>)> = match free {
        Some(free) => Some((free, waiting(store, &lost).await?)),
        None => None,
    };
    // Agents whose state this pass wrote, so knows exactly.
    let mut exact: BTreeSet<crate::domain::UserId> = BTreeSet::new();
    while failures < MAX_FAILURES {
        let at = now();
        let (mut free, mut queue) = match known.take() {
            Some(known) => known,
            None => {
                exact.clear();
                let free = agents::in_status(store, AgentStatus::Online)
                    .await?
                    .into_iter()
                    .filter(|agent| agent.has_free_capacity(at))
                    .collect();
                (free, waiting(store, &lost).await?)
            }
        };
        free.sort_by_key(|agent| {
            (
                agent.active_sessions,
                agent.last_assigned_at.unwrap_or(agent.status_changed_at),
                agent.agent_id.clone(),
            )
        });
        let pair = free.iter().find_map(|agent| {
            queue.iter().position(|s| agent.serves(s.room_id.as_ref())).map(|index| (agent.clone(), index))
        });
        let Some((candidate, index)) = pair else { break };
        // A state read from the index may lag: decide on the agent's state as stored now.
        let agent = if exact.contains(&candidate.agent_id) {
            candidate
        } else {
            match agents::get(store, &candidate.agent_id).await?.filter(|a| a.has_free_capacity(at)) {
                Some(agent) => agent,
                None => {
                    failures += 1;
                    continue;
                }
            }
        };
        let session = queue.remove(index);
        let (ops, session_now, loaded) = assignment(actor, &session, &agent, AssignedBy::Routing, at)?;
        let failed = failed_conditions(store.transact_write(ops).await)?;
        if !failed.is_empty() {
            if failed.contains(&0) {
                lost.insert(session.id);
            }
            failures += 1;
            continue;
        }
        tracing::info!(session_id = %session.id, agent_id = %agent.agent_id, "session routed");
        assigned.push(session_now);
        free.retain(|a| a.agent_id != loaded.agent_id);
        exact.insert(loaded.agent_id.clone());
        if loaded.has_free_capacity(at) {
            free.push(loaded);
        }
        // Once the queue read is used up, read it again: sessions may have arrived meanwhile.
        known = (!queue.is_empty()).then_some((free, queue));
    }
    if !assigned.is_empty() {
        stats::count(store, now(), stats::Change::Assigned { sessions: assigned.len() as i64 }).await;
    }
    Ok(assigned)
}

/// The first pages of the waiting queue, in routing order, without the sessions `lost`.
async fn waiting(store: &dyn ItemStore, lost: &BTreeSet<SessionId>) -> Result<Vec<Session>, ApiError> {
    let mut cursor: Option<Cursor> = None;
    let mut queue: Vec<Session> = Vec::new();
    for _ in 0..QUEUE_PAGES {
        let listing = SessionListing::Status(SessionStatus::Waiting);
        let (page, next) = sessions::list(store, &listing, None, QUEUE_PAGE, cursor).await?;
        queue.extend(page.into_iter().filter(|s| !lost.contains(&s.id)));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(queue)
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

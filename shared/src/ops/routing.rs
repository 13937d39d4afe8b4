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
//!
//! Routing survives a crash: each assignment is announced as soon as it commits (a later
//! failure cannot take that back), a dispatch routes for at most [`DISPATCH_BUDGET`] and then
//! hands the lease back, and the routing sweep ([`sweep`], every minute) routes whatever a
//! failed or dead dispatcher left waiting and sets the counters it left wrong to a recount.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::app::App;
use crate::domain::{
    now, AgentState, AgentStatus, EventKind, Principal, Role, Session, SessionId, SessionStatus, UserId,
};
use crate::error::ApiError;
use crate::repo::sessions::{self, SessionListing};
use crate::repo::{agents, events, stats};
use crate::store::{Cursor, ItemStore, NamedTxOp};

use super::failed_conditions;
use super::queue::{estimate_inputs, wait_estimate};

/// Failed assignments one routing pass tolerates (each means a manual assignment or a status
/// change got there first) before it leaves the rest to the next trigger.
const MAX_FAILURES: usize = 50;
/// Waiting sessions read per page.
const QUEUE_PAGE: usize = 200;
/// Pages of the queue read at once (sessions of rooms nobody free serves are skipped over).
const QUEUE_PAGES: usize = 5;

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

/// The condition of an assignment that the session still waits.
pub(crate) const SESSION_WAITING: &str = "session_waiting";
/// The condition of an assignment that the agent's state is as it was read.
pub(crate) const AGENT_UNCHANGED: &str = "agent_unchanged";

/// The transaction that gives a waiting `session` to the agent in state `agent`: fails
/// [`SESSION_WAITING`] if the session no longer waits, [`AGENT_UNCHANGED`] if the agent's state
/// changed.
pub(crate) fn assignment(
    actor: &Principal,
    session: &Session,
    agent: &AgentState,
    by: AssignedBy,
    at: time::OffsetDateTime,
) -> Result<(Vec<NamedTxOp>, Session, AgentState), ApiError> {
    let (assign, assigned) = sessions::assign(session, &agent.agent_id, at)?;
    let mut loaded = agent.clone();
    loaded.active_sessions += 1;
    loaded.last_assigned_at = Some(at);
    loaded.version += 1;
    let participant = sessions::participant(session.id, &agent.agent_id, Role::Agent, agent.name.clone(), at);
    let ops = vec![
        assign.named(SESSION_WAITING),
        agents::put(&loaded, Some(agent))?.named(AGENT_UNCHANGED),
        sessions::put_participant(&participant)?.named("participant"),
        events::record(
            actor,
            EventKind::SessionAssigned,
            &sessions::partition(&session.id),
            format!("session:{}", session.id),
            Some(session.id),
            json!({"agent_id": agent.agent_id, "by": by.as_str()}),
            at,
        )?
        .named("assigned_event"),
    ];
    Ok((ops, assigned, loaded))
}

/// How long a dispatcher holds the routing lease before another may take it over: well past
/// [`DISPATCH_BUDGET`], so a live dispatcher always releases it first.
const LEASE_MS: i64 = 30_000;
/// How long one dispatch routes (its passes together) before it leaves the rest to the next
/// trigger or the sweep: inside the 10 s timeout of the API functions that trigger it, with time
/// left for their answer.
pub const DISPATCH_BUDGET: Duration = Duration::from_secs(5);
/// How long the routing sweep routes: inside its 60 s timeout and its one-minute schedule.
pub const SWEEP_BUDGET: Duration = Duration::from_secs(40);

/// How recent an assignment leaves its agent's load out of a recount's correction: DynamoDB's
/// indexes are eventually consistent, and the status index may not show it yet.
const SETTLING: time::Duration = time::Duration::seconds(10);

/// How a routing pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    /// No (agent, session) pair is left, or too many assignments lost their race.
    Done,
    /// Its time budget ran out; the next trigger or the sweep routes the rest.
    OutOfTime,
}

/// Gives waiting sessions to online agents with free capacity until no pair is left or
/// [`DISPATCH_BUDGET`] runs out; each assignment is announced as it commits, and counted even
/// when a later call fails. Returns the sessions it assigned; none when another dispatcher is
/// routing (it was asked to run once more, and announces its own). Failures are logged: the
/// change that triggered it is stored, and the next trigger or the sweep routes again.
pub async fn dispatch(app: &App, actor: &Principal) -> Vec<Session> {
    let mut routed = Vec::new();
    if let Err(error) = lead_and_route(app, actor, Instant::now() + DISPATCH_BUDGET, &mut routed).await {
        tracing::warn!(%error, routed = routed.len(), "routing failed; the next trigger or the sweep routes the rest");
    }
    settle(app, &routed).await;
    routed
}

/// Takes the routing lease (unless someone holds it) and routes under it, pass after pass while
/// others ask it to run again, until `deadline`.
async fn lead_and_route(
    app: &App,
    actor: &Principal,
    deadline: Instant,
    routed: &mut Vec<Session>,
) -> Result<(), ApiError> {
    let store = app.store.as_ref();
    let at = now();
    let free: Vec<AgentState> = agents::in_status(store, AgentStatus::Online)
        .await?
        .into_iter()
        .filter(|agent| agent.has_free_capacity(at))
        .collect();
    if free.is_empty() {
        return Ok(());
    }
    let holder = crate::domain::next_ulid().to_string();
    if agents::lead(store, &holder, epoch_ms(), LEASE_MS).await? == agents::Lead::Handed {
        return Ok(());
    }
    // The first pass starts from the agents just read; a pass asked for again reads them anew.
    let mut first = Some(free);
    loop {
        match route_all(app, actor, first.take(), deadline, routed).await {
            Ok(Finish::Done) => {}
            Ok(Finish::OutOfTime) => return agents::give_up(store, &holder).await,
            Err(error) => {
                // Not `release`: it would renew the lease for a request to run again that this
                // dispatcher no longer serves.
                if let Err(release_error) = agents::give_up(store, &holder).await {
                    tracing::warn!(%release_error, "releasing the routing lease failed; it expires");
                }
                return Err(error);
            }
        }
        if agents::release(store, &holder, epoch_ms(), LEASE_MS).await? {
            return Ok(());
        }
    }
}

/// After routing: the assignments counted on the live queue counters (one update for them all).
/// The day's counters, the pushes, the waiting sessions' new places and the live dashboard follow
/// each assignment from the change feed.
async fn settle(app: &App, routed: &[Session]) {
    if routed.is_empty() {
        return;
    }
    stats::count_live(app.store.as_ref(), stats::Change::Assigned { sessions: routed.len() as i64 }).await;
}

fn epoch_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// One routing pass: assigns until no (agent, session) pair is left or `deadline` passes,
/// announcing each assignment as it commits and adding it to `routed`. The agents and the queue
/// are read once and kept up to date with its own assignments; a failed assignment (a manual
/// one or a status change got there first) reads them again.
async fn route_all(
    app: &App,
    actor: &Principal,
    free: Option<Vec<AgentState>>,
    deadline: Instant,
    routed: &mut Vec<Session>,
) -> Result<Finish, ApiError> {
    let store = app.store.as_ref();
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
        if Instant::now() >= deadline {
            return Ok(Finish::OutOfTime);
        }
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
            if failed.contains(&SESSION_WAITING) {
                lost.insert(session.id);
            }
            failures += 1;
            continue;
        }
        tracing::info!(session_id = %session.id, agent_id = %agent.agent_id, "session routed");
        // Announced at once: whatever fails later in this pass, this assignment is stored.
        announce_assignment(app, &session_now).await;
        routed.push(session_now);
        free.retain(|a| a.agent_id != loaded.agent_id);
        exact.insert(loaded.agent_id.clone());
        if loaded.has_free_capacity(at) {
            free.push(loaded);
        }
        // Once the queue read is used up, read it again: sessions may have arrived meanwhile.
        known = (!queue.is_empty()).then_some((free, queue));
    }
    Ok(Finish::Done)
}

/// The user the sweep's assignments are recorded as made by (in the audit log and event log).
pub const SWEEPER: &str = "routing-sweep";
/// The user the assignments of routing after a close or a transfer are recorded as made by: it
/// runs from the change feed, after the request of whoever closed or transferred.
pub const ROUTER: &str = "routing";

/// The principal of routing from the change feed ([`ROUTER`]).
pub fn router() -> Result<Principal, ApiError> {
    Ok(Principal { user_id: UserId::parse(ROUTER)?, role: Role::Admin, name: Some("routing".into()) })
}

/// What one routing sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    /// Sessions waiting when it recounted.
    pub waiting: i64,
    /// Sessions with an agent when it recounted.
    pub active: i64,
    /// Whether the live counters differed from the recount and were set to it.
    pub counters_corrected: bool,
    /// Agents whose load differed from the recount and was set to it.
    pub loads_corrected: usize,
    /// Sessions it assigned.
    pub routed: usize,
    /// Whether its time budget ran out before the queue or the free agents did.
    pub out_of_time: bool,
}

/// The routing sweep (`routing-sweep`, every minute): the backstop for routing that a crash, a
/// failed call or a dispatcher's time budget cut short. It recounts the waiting and active
/// sessions from the status index and sets the live counters and the agents' loads to the
/// recount, then routes one pass without the lease — a dispatcher that died holding it would
/// otherwise stop routing until a new trigger after it expires; assignments stay race-safe
/// without it — within [`SWEEP_BUDGET`].
pub async fn sweep(app: &App) -> Result<Swept, ApiError> {
    let deadline = Instant::now() + SWEEP_BUDGET;
    let actor = &Principal {
        user_id: UserId::parse(SWEEPER)?,
        role: Role::Admin,
        name: Some("routing sweep".into()),
    };
    let mut swept = reconcile(app.store.as_ref()).await?;
    let mut routed = Vec::new();
    let finish = route_all(app, actor, None, deadline, &mut routed).await;
    settle(app, &routed).await;
    swept.routed = routed.len();
    swept.out_of_time = finish? == Finish::OutOfTime;
    Ok(swept)
}

/// Sets the live counters and every agent's load to a recount of the sessions in the status
/// index. What it corrects is read before it recounts, and each correction is conditional on
/// it, so a change made meanwhile is never overwritten (its drift, if any, waits for the next
/// sweep).
async fn reconcile(store: &dyn ItemStore) -> Result<Swept, ApiError> {
    let counted = stats::live(store).await?;
    let mut agents_read: Vec<AgentState> = Vec::new();
    for status in [AgentStatus::Online, AgentStatus::Away] {
        agents_read.extend(agents::in_status(store, status).await?);
    }
    agents_read.extend(agents::loaded_in_status(store, AgentStatus::Offline).await?);
    let waiting = count_status(store, SessionStatus::Waiting, |_| {}).await?;
    let mut loads: BTreeMap<UserId, u32> = BTreeMap::new();
    let active = count_status(store, SessionStatus::Active, |session| {
        if let Some(agent) = &session.agent_id {
            *loads.entry(agent.clone()).or_default() += 1;
        }
    })
    .await?;
    let recount = stats::Live { waiting, active };
    let counters_corrected = recount != counted && stats::correct_live(store, counted, recount).await?;
    // Agents who hold sessions but were not listed with a load (a load that drifted to zero).
    let listed: BTreeSet<UserId> = agents_read.iter().map(|a| a.agent_id.clone()).collect();
    for agent in loads.keys().filter(|agent| !listed.contains(*agent)) {
        agents_read.extend(agents::get(store, agent).await?);
    }
    let mut loads_corrected = 0;
    let at = now();
    for read in agents_read {
        let load = loads.get(&read.agent_id).copied().unwrap_or(0);
        let settling = read.last_assigned_at.is_some_and(|assigned| at - assigned < SETTLING);
        if read.active_sessions == load || settling {
            continue;
        }
        let mut next = read.clone();
        next.active_sessions = load;
        next.version += 1;
        if agents::write(store, &next, Some(&read)).await? {
            tracing::info!(agent_id = %read.agent_id, stored = read.active_sessions, load, "agent load corrected");
            loads_corrected += 1;
        }
    }
    if counters_corrected {
        tracing::info!(?counted, ?recount, "live counters corrected");
    }
    Ok(Swept { waiting, active, counters_corrected, loads_corrected, ..Swept::default() })
}

/// The sessions in a status (every page of the status index), each shown to `each`.
async fn count_status(
    store: &dyn ItemStore,
    status: SessionStatus,
    mut each: impl FnMut(&Session),
) -> Result<i64, ApiError> {
    let mut cursor: Option<Cursor> = None;
    let mut count = 0;
    loop {
        let (page, next) =
            sessions::list(store, &SessionListing::Status(status), None, QUEUE_PAGE, cursor).await?;
        count += page.len() as i64;
        page.iter().for_each(&mut each);
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(count),
        }
    }
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

/// After `session` got its agent (routed, assigned or transferred): `session.updated` to its
/// subscribers and to every connection of the new agent (who is not subscribed yet). Pushes to
/// participants who are not connected, the waiting sessions' places and the live dashboard follow
/// from the change feed.
pub async fn announce_assignment(app: &App, session: &Session) {
    let delivery = super::live::session_updated(app, session).await;
    if let Some(agent) = &session.agent_id {
        if !delivery.reached.contains(agent) {
            let frame = crate::realtime::frames::ServerFrame::SessionUpdated { session: session.clone() };
            super::live::to_user(app, agent, &frame).await;
        }
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod budget_tests {
    use std::sync::Arc;
    use std::time::Instant;

    use crate::app::App;
    use crate::domain::{now, AgentState, AgentStatus, Capacity, Principal, Role, SessionStatus, UserId};
    use crate::realtime::apigw::ApiGatewayRealtime;
    use crate::repo::{agents, sessions};
    use crate::store::sqlite::SqliteItemStore;

    fn user(id: &str, role: Role) -> Principal {
        Principal { user_id: UserId::parse(id).unwrap(), role, name: None }
    }

    #[tokio::test]
    async fn a_dispatch_out_of_time_assigns_nothing_more_and_hands_the_lease_back() {
        // Arrange: a waiting session, then an agent online with room (written directly, so
        // nothing has routed yet); nothing listens on the realtime endpoint.
        let store = Arc::new(SqliteItemStore::in_memory().unwrap());
        let app = App::new(store.clone(), Arc::new(ApiGatewayRealtime::for_endpoint("http://127.0.0.1:9")));
        let customer = user("cust-ada", Role::Customer);
        let input = serde_json::from_value(serde_json::json!({"subject": "help"})).unwrap();
        let waiting = super::super::create_session(&app, &customer, input).await.unwrap();
        let agent = AgentState {
            agent_id: UserId::parse("agent-bob").unwrap(),
            name: None,
            status: AgentStatus::Online,
            capacity: Capacity::new(2).unwrap(),
            active_sessions: 0,
            rooms: Vec::new(),
            status_changed_at: now(),
            last_assigned_at: None,
            away_until: None,
            version: 1,
        };
        assert!(agents::write(store.as_ref(), &agent, None).await.unwrap());

        // Act: a dispatch whose budget is already spent.
        let mut routed = Vec::new();
        super::lead_and_route(&app, &user("agent-bob", Role::Agent), Instant::now(), &mut routed)
            .await
            .unwrap();

        // Assert: nothing assigned, the session still waits, and the next trigger leads.
        assert!(routed.is_empty());
        let stored = sessions::get(store.as_ref(), &waiting.id).await.unwrap().unwrap();
        assert_eq!(stored.status, SessionStatus::Waiting);
        let lead = agents::lead(store.as_ref(), "next", super::epoch_ms(), super::LEASE_MS).await.unwrap();
        assert_eq!(lead, agents::Lead::Leader);
    }
}

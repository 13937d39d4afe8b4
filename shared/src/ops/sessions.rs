//! Opening, reading, listing, assigning and closing sessions.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::{
    now, AgentState, AgentStatus, EventKind, Principal, Priority, Rating, Role, RoomId, Session, SessionId,
    SessionStatus, Subject, UserId,
};
use crate::error::ApiError;
use crate::repo::sessions::{self, SessionListing};
use crate::repo::stats::{self, Change};
use crate::repo::{agents, blocks, comments, events, rooms};
use crate::store::{Cursor, ItemStore};

use super::routing::{self, AssignedBy};
use super::{can_read, failed_conditions, role_forbidden};

/// How long after closing a customer may reopen a session, and after first rating it may
/// change the rating.
pub const CHANGE_WINDOW: time::Duration = time::Duration::days(7);

/// Whether something done at `since` may still be changed at `at` (within [`CHANGE_WINDOW`],
/// its last instant included).
pub(crate) fn still_changeable(since: time::OffsetDateTime, at: time::OffsetDateTime) -> bool {
    at - since <= CHANGE_WINDOW
}
/// Attempts at a change that lost a race on an agent's state (someone else changed it meanwhile).
const ATTEMPTS: usize = 8;

/// The conditions of the sessions' transactions that answer with their own error, by name.
/// The customer is not blocked.
const NOT_BLOCKED: &str = "not_blocked";
/// The customer has an open place left.
const OPEN_PLACE: &str = "open_place";
/// The named room exists.
const ROOM_EXISTS: &str = "room_exists";
/// The session is as it was read (still closed, for a reopen).
const SESSION_UNCHANGED: &str = "session_unchanged";

/// Body of `POST /chat/sessions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// What the customer needs help with.
    pub subject: Subject,
    /// Queue priority (default normal).
    #[serde(default)]
    pub priority: Priority,
    /// The room (team) to ask.
    #[serde(default)]
    pub room_id: Option<RoomId>,
}

/// A customer opens a session; it waits in the queue and is routed at once to an online agent
/// with room for it, if there is one. Blocked customers cannot open sessions; customers choose
/// at most `high` (staff raise a session to `urgent`), and have at most `app.max_open_sessions`
/// open at once (409 `too_many_open_sessions`, checked in the create transaction). The reply
/// shows the session as routing left it: active, or waiting with its queue position and estimate.
pub async fn create_session(
    app: &App,
    principal: &Principal,
    input: CreateSession,
) -> Result<Session, ApiError> {
    let store = app.store.as_ref();
    if principal.role != Role::Customer {
        return Err(role_forbidden("open sessions; only customers do"));
    }
    if input.priority == Priority::Urgent {
        return Err(ApiError::unprocessable(
            "validation_failed",
            "priority: customers choose low, normal or high; the support team raises a session to urgent",
        ));
    }
    let at = now();
    let session = Session {
        customer_name: principal.name.clone(),
        room_id: input.room_id,
        ..Session::opened(
            SessionId::generate(),
            principal.user_id.clone(),
            input.subject.as_str().to_owned(),
            input.priority,
            at,
        )
    };
    let participant =
        sessions::participant(session.id, &principal.user_id, Role::Customer, principal.name.clone(), at);
    let mut ops = vec![
        blocks::not_blocked(&principal.user_id).named(NOT_BLOCKED),
        sessions::put_new(&session)?.named("session_new"),
        sessions::put_participant(&participant)?.named("participant"),
        events::record(
            principal,
            EventKind::SessionCreated,
            &sessions::partition(&session.id),
            format!("session:{}", session.id),
            Some(session.id),
            json!({"priority": session.priority, "room_id": session.room_id, "subject": session.subject}),
            at,
        )?
        .named("created_event"),
        queued(principal, &session.id, "created", at)?.named("queued_event"),
        sessions::claim_open_place(&principal.user_id, app.max_open_sessions).named(OPEN_PLACE),
    ];
    if let Some(room) = &input.room_id {
        ops.push(rooms::exists(room).named(ROOM_EXISTS));
    }
    let failed = failed_conditions(store.transact_write(ops).await)?;
    if failed.contains(&NOT_BLOCKED) {
        return Err(ApiError::forbidden("user_blocked", "you are blocked from opening sessions"));
    }
    if failed.contains(&OPEN_PLACE) {
        return Err(too_many_open_sessions(app.max_open_sessions));
    }
    if failed.contains(&ROOM_EXISTS) {
        return Err(ApiError::not_found("room_not_found", "no such room"));
    }
    if !failed.is_empty() {
        return Err(ApiError::Internal(format!("session create cancelled at {failed:?}")));
    }
    tracing::info!(session_id = %session.id, "session created");
    stats::count_live(store, Change::Created).await;
    enqueued(app, principal, session).await
}

/// 409 for a customer who has `cap` open sessions already.
fn too_many_open_sessions(cap: u32) -> ApiError {
    ApiError::conflict(
        "too_many_open_sessions",
        format!("a customer has at most {cap} open sessions; close one first"),
    )
}

/// The event of a session entering the queue (a customer's wait starts).
fn queued(
    principal: &Principal,
    id: &SessionId,
    reason: &str,
    at: time::OffsetDateTime,
) -> Result<crate::store::TxOp, ApiError> {
    events::record(
        principal,
        EventKind::SessionQueued,
        &sessions::partition(id),
        format!("session:{id}"),
        Some(*id),
        json!({"reason": reason}),
        at,
    )
}

/// After a session entered the queue: route, announce, and return it as it is now (with its
/// queue position while it waits).
async fn enqueued(app: &App, principal: &Principal, session: Session) -> Result<Session, ApiError> {
    let store = app.store.as_ref();
    let mut current = session;
    let routed = routing::dispatch(app, principal).await;
    if let Some(assigned) = routed.into_iter().find(|assigned| assigned.id == current.id) {
        current = assigned;
    }
    routing::annotate(store, &mut current).await?;
    Ok(current)
}

/// A session the caller may read, or 404.
pub async fn get_session(
    store: &dyn ItemStore,
    principal: &Principal,
    id: &SessionId,
) -> Result<Session, ApiError> {
    match sessions::get(store, id).await? {
        Some(mut session) if can_read(principal, &session) => {
            routing::annotate(store, &mut session).await?;
            Ok(session)
        }
        _ => Err(ApiError::session_not_found()),
    }
}

/// One page of the sessions a caller sees: customers their own; agents the waiting queue
/// (`status=waiting`, in priority order) or their own; admins any status (default active).
pub async fn list_sessions(
    store: &dyn ItemStore,
    principal: &Principal,
    status: Option<SessionStatus>,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Session>, Option<Cursor>), ApiError> {
    let listing = match (principal.role, status) {
        (Role::Customer, _) => SessionListing::Customer(principal.user_id.clone()),
        (Role::Agent, Some(SessionStatus::Waiting)) => SessionListing::Status(SessionStatus::Waiting),
        (Role::Agent, _) => SessionListing::Agent(principal.user_id.clone()),
        (Role::Admin, status) => SessionListing::Status(status.unwrap_or(SessionStatus::Active)),
    };
    let (mut page, next) = sessions::list(store, &listing, status, limit, cursor).await?;
    if matches!(listing, SessionListing::Status(SessionStatus::Waiting)) {
        routing::annotate_queue(store, &mut page).await?;
    } else {
        routing::annotate_each(store, &mut page).await?;
    }
    Ok((page, next))
}

/// One page of the sessions of the customer of session `of`, newest first (`status` filters):
/// what staff see beside a conversation. Only staff who may read `of` (its agent, any agent
/// while it waits, admins); anyone else 404 as for the session itself, customers 403.
pub async fn customer_sessions(
    store: &dyn ItemStore,
    principal: &Principal,
    of: &SessionId,
    status: Option<SessionStatus>,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Session>, Option<Cursor>), ApiError> {
    if !principal.role.is_staff() {
        return Err(role_forbidden("list another session's customer history"));
    }
    let session = match sessions::get(store, of).await? {
        Some(session) if can_read(principal, &session) => session,
        _ => return Err(ApiError::session_not_found()),
    };
    let listing = SessionListing::Customer(session.customer_id);
    let (mut page, next) = sessions::list(store, &listing, status, limit, cursor).await?;
    routing::annotate_each(store, &mut page).await?;
    Ok((page, next))
}

/// One page of a session's participants.
pub async fn list_participants(
    store: &dyn ItemStore,
    principal: &Principal,
    id: &SessionId,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<crate::domain::Participant>, Option<Cursor>), ApiError> {
    get_session(store, principal, id).await?;
    sessions::participants(store, id, limit, cursor).await
}

/// Body of `POST /admin/chat-dashboard/sessions/{id}/assign`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignSession {
    /// The agent to assign; agents may leave it out (or name themselves), admins must give it.
    #[serde(default)]
    pub agent_id: Option<UserId>,
}

/// The agent a session may be given to now: known, not offline, below capacity. An agent who
/// asks for themselves and never set a status is offline (as `GET /agent/status` says), not
/// unknown: 409 `agent_offline` telling them what to do, where someone else naming them gets
/// 404 `agent_not_found`.
async fn available_agent(
    store: &dyn ItemStore,
    principal: &Principal,
    agent: &UserId,
) -> Result<AgentState, ApiError> {
    let themselves = principal.role == Role::Agent && &principal.user_id == agent;
    let offline = || {
        let message = if themselves {
            "you are offline: set your status to online or away (PUT /agent/status) to take sessions"
        } else {
            "the agent is offline: they must go online or away before they take sessions"
        };
        ApiError::conflict("agent_offline", message)
    };
    let state = match agents::get(store, agent).await? {
        Some(state) => state,
        None if themselves => return Err(offline()),
        None => return Err(ApiError::not_found("agent_not_found", "no such agent: they never set a status")),
    };
    if state.status_at(now()) == AgentStatus::Offline {
        return Err(offline());
    }
    if state.active_sessions >= state.capacity.get() {
        return Err(ApiError::conflict(
            "agent_at_capacity",
            format!("the agent serves {} sessions, their capacity", state.active_sessions),
        ));
    }
    Ok(state)
}

/// An agent takes a waiting session, or an admin gives it to an agent; the agent must be online
/// or away (not offline) and below capacity. Of two concurrent assignments exactly one wins;
/// the other gets 409 `session_not_waiting`. Subscribers and the agent get `session.updated`.
pub async fn assign_session(
    app: &App,
    principal: &Principal,
    id: &SessionId,
    input: AssignSession,
) -> Result<Session, ApiError> {
    let store = app.store.as_ref();
    let agent = match (principal.role, input.agent_id) {
        (Role::Customer, _) => return Err(role_forbidden("assign sessions")),
        (Role::Agent, None) => principal.user_id.clone(),
        (Role::Agent, Some(agent)) if agent == principal.user_id => agent,
        (Role::Agent, Some(_)) => {
            return Err(ApiError::forbidden("forbidden", "agents take sessions for themselves only"))
        }
        (Role::Admin, Some(agent)) => agent,
        (Role::Admin, None) => {
            return Err(ApiError::unprocessable("validation_failed", "agent_id: admins must name the agent"))
        }
    };
    for _ in 0..ATTEMPTS {
        // Not `get_session`: an agent may not read a session another agent took, but must learn
        // it is taken (409), not that it does not exist.
        let session = sessions::get(store, id).await?.ok_or_else(ApiError::session_not_found)?;
        match session.status {
            SessionStatus::Waiting => {}
            SessionStatus::Closed => return Err(ApiError::session_closed()),
            SessionStatus::Active => return Err(ApiError::session_not_waiting()),
        }
        let state = available_agent(store, principal, &agent).await?;
        let at = now();
        let (ops, assigned, _) = routing::assignment(principal, &session, &state, AssignedBy::Manual, at)?;
        let failed = failed_conditions(store.transact_write(ops).await)?;
        if failed.contains(&routing::SESSION_WAITING) {
            return Err(ApiError::session_not_waiting());
        }
        if !failed.is_empty() {
            continue;
        }
        tracing::info!(session_id = %id, agent_id = %agent, "session assigned");
        stats::count_live(store, Change::Assigned { sessions: 1 }).await;
        routing::announce_assignment(app, &assigned).await;
        return Ok(assigned);
    }
    Err(ApiError::conflict("conflict", "the agent's state kept changing meanwhile; retry"))
}

/// Body of `POST /admin/chat-dashboard/sessions/{id}/transfer`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferSession {
    /// The colleague to hand the session to: online or away, below capacity, not its agent now.
    pub to_agent_id: UserId,
    /// Why, for the colleague and the record: 1 to 500 characters.
    pub reason: TransferReason,
}

/// Why a session was transferred.
pub type TransferReason = crate::domain::TransferReason;

/// The session's agent or an admin hands an active session to another agent. Both agents and
/// the customer get `session.updated`; the event log records who, to whom and why; the former
/// agent's load goes down (routing from the change feed may then give them a waiting session).
pub async fn transfer_session(
    app: &App,
    principal: &Principal,
    id: &SessionId,
    input: TransferSession,
) -> Result<Session, ApiError> {
    let store = app.store.as_ref();
    if principal.role == Role::Customer {
        return Err(role_forbidden("transfer sessions"));
    }
    for _ in 0..ATTEMPTS {
        let session = match sessions::get(store, id).await? {
            Some(session) if can_read(principal, &session) => session,
            _ => return Err(ApiError::session_not_found()),
        };
        let from = match (session.status, &session.agent_id) {
            (SessionStatus::Closed, _) => return Err(ApiError::session_closed()),
            (SessionStatus::Active, Some(from)) => from.clone(),
            _ => {
                return Err(ApiError::conflict(
                    "session_not_active",
                    "only an active session is transferred; assign a waiting one",
                ))
            }
        };
        if principal.role == Role::Agent && principal.user_id != from {
            return Err(ApiError::forbidden(
                "forbidden",
                "only the session's agent or an admin transfers it",
            ));
        }
        if input.to_agent_id == from {
            return Err(ApiError::unprocessable(
                "transfer_to_self",
                "to_agent_id: the session is with that agent already",
            ));
        }
        let to_state = available_agent(store, principal, &input.to_agent_id).await?;
        let at = now();
        let (transfer, moved) = sessions::transfer(&session, &input.to_agent_id)?;
        let mut to_next = to_state.clone();
        to_next.active_sessions += 1;
        to_next.last_assigned_at = Some(at);
        to_next.version += 1;
        let participant =
            sessions::participant(session.id, &input.to_agent_id, Role::Agent, to_state.name.clone(), at);
        let mut ops = vec![
            transfer.named(SESSION_UNCHANGED),
            agents::put(&to_next, Some(&to_state))?.named("to_agent_unchanged"),
            sessions::put_participant(&participant)?.named("participant"),
            events::record(
                principal,
                EventKind::SessionTransferred,
                &sessions::partition(id),
                format!("session:{id}"),
                Some(*id),
                json!({"from_agent_id": from, "to_agent_id": input.to_agent_id, "reason": input.reason.as_str()}),
                at,
            )?
            .named("transferred_event"),
        ];
        let from_state = agents::get(store, &from).await?;
        if let Some(op) = released(from_state.as_ref())? {
            ops.push(op.named("from_agent_unchanged"));
        }
        let failed = failed_conditions(store.transact_write(ops).await)?;
        if !failed.is_empty() {
            continue;
        }
        tracing::info!(session_id = %id, from = %from, to = %input.to_agent_id, "session transferred");
        routing::announce_assignment(app, &moved).await;
        // The former agent's connections learn it left them, subscribed or not.
        let frame = crate::realtime::frames::ServerFrame::SessionUpdated { session: moved.clone() };
        super::live::to_user(app, &from, &frame).await;
        return Ok(moved);
    }
    Err(ApiError::conflict("conflict", "the session or the agents kept changing meanwhile; retry"))
}

/// The write that takes one session off an agent's load (none for an agent with no state).
fn released(state: Option<&AgentState>) -> Result<Option<crate::store::TxOp>, ApiError> {
    let Some(state) = state else { return Ok(None) };
    let mut next = state.clone();
    next.active_sessions = next.active_sessions.saturating_sub(1);
    next.version += 1;
    agents::put(&next, Some(state)).map(Some)
}

/// Closes a session: its customer, its agent, or an admin. Closing twice is 409. Subscribers
/// get `session.updated`; the agent's load goes down (routing from the change feed may then give
/// them a waiting session; pushes and the day's counters follow from the feed too).
pub async fn close_session(app: &App, principal: &Principal, id: &SessionId) -> Result<Session, ApiError> {
    let store = app.store.as_ref();
    for _ in 0..ATTEMPTS {
        let session = get_session(store, principal, id).await?;
        // `get_session` already limited customers to their own sessions; agents close only theirs.
        if principal.role == Role::Agent && session.agent_id.as_ref() != Some(&principal.user_id) {
            return Err(ApiError::forbidden(
                "forbidden",
                "only the session's agent, its customer or an admin may close it",
            ));
        }
        if session.status == SessionStatus::Closed {
            return Err(ApiError::session_closed());
        }
        let at = now();
        let (close, mut closed) = sessions::close(&session, &principal.user_id, at)?;
        let mut ops = vec![
            close.named(SESSION_UNCHANGED),
            events::record(
                principal,
                EventKind::SessionClosed,
                &sessions::partition(id),
                format!("session:{id}"),
                Some(*id),
                json!({"previous_status": session.status, "agent_id": session.agent_id}),
                at,
            )?
            .named("closed_event"),
            sessions::release_open_place(&session.customer_id).named("open_place_released"),
        ];
        if let Some(agent) = &session.agent_id {
            if let Some(op) = released(agents::get(store, agent).await?.as_ref())? {
                ops.push(op.named("agent_unchanged"));
            }
        }
        let failed = failed_conditions(store.transact_write(ops).await)?;
        if !failed.is_empty() {
            continue;
        }
        let was_active = session.status == SessionStatus::Active;
        stats::count_live(store, Change::Closed { was_active, handle_seconds: None }).await;
        closed.queue_position = None;
        closed.estimated_wait_seconds = None;
        super::live::session_updated(app, &closed).await;
        return Ok(closed);
    }
    Err(ApiError::conflict("conflict", "the session or its agent kept changing meanwhile; retry"))
}

/// The session's customer (or an admin) reopens a session closed less than 7 days ago: it waits
/// in the queue again (a new wait: the first-response clock restarts) and is routed. It takes
/// one of the customer's open-session places: 409 `too_many_open_sessions` when none is left.
pub async fn reopen_session(app: &App, principal: &Principal, id: &SessionId) -> Result<Session, ApiError> {
    let store = app.store.as_ref();
    if principal.role == Role::Agent {
        return Err(role_forbidden("reopen sessions; the customer or an admin does"));
    }
    let session = get_session(store, principal, id).await?;
    if session.status != SessionStatus::Closed {
        return Err(ApiError::conflict("session_not_closed", "only a closed session is reopened"));
    }
    let at = now();
    if session.closed_at.is_some_and(|closed| !still_changeable(closed, at)) {
        return Err(ApiError::conflict(
            "reopen_window_passed",
            "a session is reopened within 7 days of closing; open a new one",
        ));
    }
    let (reopen, reopened) = sessions::reopen(&session, at)?;
    let ops = vec![
        reopen.named(SESSION_UNCHANGED),
        blocks::not_blocked(&session.customer_id).named(NOT_BLOCKED),
        events::record(
            principal,
            EventKind::SessionReopened,
            &sessions::partition(id),
            format!("session:{id}"),
            Some(*id),
            json!({"previous_agent_id": session.agent_id}),
            at,
        )?
        .named("reopened_event"),
        queued(principal, id, "reopened", at)?.named("queued_event"),
        sessions::claim_open_place(&session.customer_id, app.max_open_sessions).named(OPEN_PLACE),
    ];
    let failed = failed_conditions(store.transact_write(ops).await)?;
    if failed.contains(&SESSION_UNCHANGED) {
        return Err(ApiError::conflict("session_not_closed", "the session was reopened meanwhile"));
    }
    if failed.contains(&NOT_BLOCKED) {
        return Err(ApiError::forbidden("user_blocked", "the customer is blocked from opening sessions"));
    }
    if failed.contains(&OPEN_PLACE) {
        return Err(too_many_open_sessions(app.max_open_sessions));
    }
    tracing::info!(session_id = %id, "session reopened");
    stats::count_live(store, Change::Reopened).await;
    super::live::session_updated(app, &reopened).await;
    enqueued(app, principal, reopened).await
}

/// Body of `PATCH /chat/sessions/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSession {
    /// The new queue priority.
    pub priority: Priority,
}

/// Staff change an open session's priority: its agent, or an admin (any agent may read a
/// waiting session, but changing its place in the queue is for admins). The event log records
/// who changed it from what to what; subscribers get `session.updated`. Setting the priority it
/// has changes nothing and records nothing.
pub async fn update_session(
    app: &App,
    principal: &Principal,
    id: &SessionId,
    input: UpdateSession,
) -> Result<Session, ApiError> {
    let store = app.store.as_ref();
    if principal.role == Role::Customer {
        return Err(role_forbidden("change a session's priority; its agent or an admin does"));
    }
    for _ in 0..ATTEMPTS {
        // Not `get_session`: the queue position is read once, for the reply.
        let session = match sessions::get(store, id).await? {
            Some(session) if can_read(principal, &session) => session,
            _ => return Err(ApiError::session_not_found()),
        };
        if principal.role == Role::Agent && session.agent_id.as_ref() != Some(&principal.user_id) {
            return Err(ApiError::forbidden(
                "forbidden",
                "only the session's agent or an admin changes its priority",
            ));
        }
        if session.status == SessionStatus::Closed {
            return Err(ApiError::session_closed());
        }
        if session.priority == input.priority {
            let mut unchanged = session;
            routing::annotate(store, &mut unchanged).await?;
            return Ok(unchanged);
        }
        let at = now();
        let (change, mut changed) = sessions::set_priority(&session, input.priority)?;
        let ops = vec![
            change.named(SESSION_UNCHANGED),
            events::record(
                principal,
                PRIORITY_CHANGED,
                &sessions::partition(id),
                format!("session:{id}"),
                Some(*id),
                json!({"from": session.priority, "to": input.priority}),
                at,
            )?
            .named("priority_event"),
        ];
        if !failed_conditions(store.transact_write(ops).await)?.is_empty() {
            continue;
        }
        tracing::info!(session_id = %id, priority = input.priority.as_str(), "session priority changed");
        routing::annotate(store, &mut changed).await?;
        super::live::session_updated(app, &changed).await;
        return Ok(changed);
    }
    Err(ApiError::conflict("conflict", "the session kept changing meanwhile; retry"))
}

/// Event kind of a change of a session's priority.
pub const PRIORITY_CHANGED: EventKind = EventKind::SessionPriorityChanged;

/// Body of `POST /chat/sessions/{id}/rating`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateSession {
    /// 1 (very unhappy) to 5 (very happy).
    pub score: crate::domain::Score,
    /// Optional words, up to 1,000 characters.
    #[serde(default)]
    pub comment: Option<crate::domain::RatingComment>,
}

/// Whether a rating was given now or changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Rated {
    /// The first rating of the session.
    First(Rating),
    /// A change of the rating within 7 days of the first.
    Changed(Rating),
}

/// The session's customer rates it once it is closed; they may change the rating for 7 days
/// after first giving it.
pub async fn rate_session(
    app: &App,
    principal: &Principal,
    id: &SessionId,
    input: RateSession,
) -> Result<Rated, ApiError> {
    let store = app.store.as_ref();
    if principal.role != Role::Customer {
        return Err(role_forbidden("rate sessions; the session's customer does"));
    }
    let session = get_session(store, principal, id).await?;
    if session.status != SessionStatus::Closed {
        return Err(ApiError::conflict("session_not_closed", "a session is rated once it is closed"));
    }
    let at = now();
    let first_rated_at = match &session.rating {
        Some(previous) if !still_changeable(previous.first_rated_at, at) => {
            return Err(ApiError::conflict(
                "rating_locked",
                "a rating may be changed for 7 days after it was first given",
            ))
        }
        Some(previous) => previous.first_rated_at,
        None => at,
    };
    let rating = Rating {
        score: input.score.get(),
        comment: input.comment.map(|c| c.as_str().to_owned()),
        rated_at: at,
        first_rated_at,
    };
    let mut ops = vec![
        sessions::rate(&session, &rating, &principal.user_id)?.named(SESSION_UNCHANGED),
        events::record(
            principal,
            EventKind::SessionRated,
            &sessions::partition(id),
            format!("session:{id}"),
            Some(*id),
            json!({"score": rating.score, "comment": rating.comment,
                   "previous_score": session.rating.as_ref().map(|r| r.score)}),
            at,
        )?
        .named("rated_event"),
    ];
    let comments = comments::keep_in_step(id, &principal.user_id, &rating, session.rating.as_ref())?;
    ops.extend(comments.into_iter().map(|op| op.named("comment_in_step")));
    if !failed_conditions(store.transact_write(ops).await)?.is_empty() {
        return Err(ApiError::conflict(
            "conflict",
            "the session changed meanwhile (reopened or rated); retry",
        ));
    }
    Ok(if session.rating.is_some() { Rated::Changed(rating) } else { Rated::First(rating) })
}

#[cfg(test)]
mod tests {
    use super::{still_changeable, CHANGE_WINDOW};
    use time::{Duration, OffsetDateTime};

    #[test]
    fn reopening_and_re_rating_end_seven_days_after() {
        let since = OffsetDateTime::UNIX_EPOCH;
        assert!(still_changeable(since, since));
        assert!(still_changeable(since, since + CHANGE_WINDOW));
        assert!(!still_changeable(since, since + CHANGE_WINDOW + Duration::milliseconds(1)));
        assert_eq!(CHANGE_WINDOW, Duration::days(7));
    }
}

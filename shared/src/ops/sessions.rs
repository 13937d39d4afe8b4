//! Opening, reading, listing, assigning and closing sessions.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::{
    now, Principal, Priority, Role, RoomId, Session, SessionId, SessionStatus, Subject, UserId,
};
use crate::error::ApiError;
use crate::repo::sessions::{self, SessionListing};
use crate::repo::{blocks, events, rooms};
use crate::store::{Cursor, ItemStore};

use super::{can_read, failed_conditions, role_forbidden};

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

/// A customer opens a session; it waits in the queue. Blocked customers cannot.
pub async fn create_session(
    store: &dyn ItemStore,
    principal: &Principal,
    input: CreateSession,
) -> Result<Session, ApiError> {
    if principal.role != Role::Customer {
        return Err(role_forbidden("open sessions; only customers do"));
    }
    let at = now();
    let session = Session {
        id: SessionId::generate(),
        customer_id: principal.user_id.clone(),
        customer_name: principal.name.clone(),
        agent_id: None,
        room_id: input.room_id,
        subject: input.subject.as_str().to_owned(),
        priority: input.priority,
        status: SessionStatus::Waiting,
        created_at: at,
        assigned_at: None,
        closed_at: None,
        closed_by: None,
        queue_position: None,
        last_message_at: None,
        message_count: 0,
    };
    let participant =
        sessions::participant(session.id, &principal.user_id, Role::Customer, principal.name.clone(), at);
    let mut ops = vec![
        blocks::not_blocked(&principal.user_id),
        sessions::put_new(&session)?,
        sessions::put_participant(&participant)?,
        events::record(
            principal,
            "session.created",
            &sessions::partition(&session.id),
            format!("session:{}", session.id),
            Some(session.id),
            json!({"priority": session.priority, "room_id": session.room_id, "subject": session.subject}),
            at,
        )?,
    ];
    if let Some(room) = &input.room_id {
        ops.push(rooms::exists(room));
    }
    let room_check = ops.len() - 1;
    let failed = failed_conditions(store.transact_write(ops).await)?;
    if failed.contains(&0) {
        return Err(ApiError::forbidden("user_blocked", "you are blocked from opening sessions"));
    }
    if input.room_id.is_some() && failed.contains(&room_check) {
        return Err(ApiError::not_found("room_not_found", "no such room"));
    }
    if !failed.is_empty() {
        return Err(ApiError::Internal(format!("session create cancelled at {failed:?}")));
    }
    tracing::info!(session_id = %session.id, "session created");
    Ok(session)
}

/// A session the caller may read, or 404.
pub async fn get_session(
    store: &dyn ItemStore,
    principal: &Principal,
    id: &SessionId,
) -> Result<Session, ApiError> {
    match sessions::get(store, id).await? {
        Some(session) if can_read(principal, &session) => Ok(session),
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
    sessions::list(store, &listing, status, limit, cursor).await
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

/// An agent takes a waiting session, or an admin gives it to an agent. Of two concurrent
/// takers exactly one wins; the other gets 409 `session_not_waiting`. Subscribers get
/// `session.updated`.
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
    // Not `get_session`: an agent may not read a session another agent took, but must learn it
    // is taken (409), not that it does not exist.
    let session = sessions::get(store, id).await?.ok_or_else(ApiError::session_not_found)?;
    match session.status {
        SessionStatus::Waiting => {}
        SessionStatus::Closed => return Err(ApiError::session_closed()),
        SessionStatus::Active => return Err(ApiError::session_not_waiting()),
    }
    let at = now();
    let (assign, assigned) = sessions::assign(&session, &agent, at)?;
    let participant = sessions::participant(session.id, &agent, Role::Agent, None, at);
    let ops = vec![
        assign,
        sessions::put_participant(&participant)?,
        events::record(
            principal,
            "session.assigned",
            &sessions::partition(id),
            format!("session:{id}"),
            Some(*id),
            json!({"agent_id": agent}),
            at,
        )?,
    ];
    if failed_conditions(store.transact_write(ops).await)?.contains(&0) {
        return Err(ApiError::session_not_waiting());
    }
    tracing::info!(session_id = %id, agent_id = %agent, "session assigned");
    let delivery = super::live::session_updated(app, &assigned).await;
    super::pushes::session_update(app, &assigned, &principal.user_id, &delivery.reached).await;
    Ok(assigned)
}

/// Closes a session: its customer, its agent, or an admin. Closing twice is 409. Subscribers
/// get `session.updated`.
pub async fn close_session(app: &App, principal: &Principal, id: &SessionId) -> Result<Session, ApiError> {
    let store = app.store.as_ref();
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
    let (close, closed) = sessions::close(&session, &principal.user_id, at)?;
    let ops = vec![
        close,
        events::record(
            principal,
            "session.closed",
            &sessions::partition(id),
            format!("session:{id}"),
            Some(*id),
            json!({"previous_status": session.status}),
            at,
        )?,
    ];
    if failed_conditions(store.transact_write(ops).await)?.contains(&0) {
        return Err(ApiError::session_closed());
    }
    let delivery = super::live::session_updated(app, &closed).await;
    super::pushes::session_update(app, &closed, &principal.user_id, &delivery.reached).await;
    Ok(closed)
}

//! Admin dashboard REST handlers (this crate grows with the dashboard; today: assign).

use lambda_http::Request;
use switchboard_shared::domain::{Session, SessionId};
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::json_body;
use switchboard_shared::http::{json, json_body_or_empty, path_param, principal, HandlerResult};
use switchboard_shared::ops::{self, AssignSession, TransferSession};
use switchboard_shared::{http_function, App};

http_function!(
    /// `POST /admin/chat-dashboard/sessions/{id}/assign`
    ASSIGN_SESSION = "dashboard-assign-session" => assign_session
);
http_function!(
    /// `POST /admin/chat-dashboard/sessions/{id}/transfer`
    TRANSFER_SESSION = "dashboard-transfer-session" => transfer_session
);

/// Every function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[ASSIGN_SESSION, TRANSFER_SESSION];

/// An agent takes a waiting session (body `{}`), or an admin assigns it (`{"agent_id"}`); the
/// agent must be online or away and below capacity. Of concurrent assignments exactly one wins;
/// the others get 409 `session_not_waiting`.
#[utoipa::path(post, path = "/admin/chat-dashboard/sessions/{id}/assign", tag = "dashboard",
    params(("id" = SessionId, Path)), request_body(content = AssignSession, description = "optional for agents"),
    responses((status = 200, body = Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "session_not_waiting, session_closed, agent_offline or agent_at_capacity", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn assign_session(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "id")?;
    let input: AssignSession = json_body_or_empty(&req)?;
    json(200, &ops::assign_session(app, &principal, &id, input).await?)
}

/// The session's agent or an admin hands an active session to another agent with a reason;
/// both agents and the customer get `session.updated`.
#[utoipa::path(post, path = "/admin/chat-dashboard/sessions/{id}/transfer", tag = "dashboard",
    params(("id" = SessionId, Path)), request_body = TransferSession,
    responses((status = 200, body = Session), (status = 403, body = ErrorBody),
        (status = 404, description = "session_not_found or agent_not_found", body = ErrorBody),
        (status = 409, description = "session_not_active, session_closed, agent_offline or agent_at_capacity", body = ErrorBody),
        (status = 422, description = "transfer_to_self, or a bad reason", body = ErrorBody)))]
pub async fn transfer_session(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "id")?;
    let input: TransferSession = json_body(&req)?;
    json(200, &ops::transfer_session(app, &principal, &id, input).await?)
}

//! Admin dashboard REST handlers (this crate grows with the dashboard; today: assign).

use lambda_http::Request;
use switchboard_shared::domain::{Session, SessionId};
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{json, json_body_or_empty, path_param, principal, HandlerResult};
use switchboard_shared::ops::{self, AssignSession};
use switchboard_shared::{http_function, App};

http_function!(
    /// `POST /admin/chat-dashboard/sessions/{id}/assign`
    ASSIGN_SESSION = "dashboard-assign-session" => assign_session
);

/// Every function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[ASSIGN_SESSION];

/// An agent takes a waiting session (body `{}`), or an admin assigns it (`{"agent_id"}`).
/// Of concurrent takers exactly one wins; the others get 409 `session_not_waiting`.
#[utoipa::path(post, path = "/admin/chat-dashboard/sessions/{id}/assign", tag = "dashboard",
    params(("id" = SessionId, Path)), request_body(content = AssignSession, description = "optional for agents"),
    responses((status = 200, body = Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "session_not_waiting or session_closed", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn assign_session(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "id")?;
    let input: AssignSession = json_body_or_empty(&req)?;
    json(200, &ops::assign_session(app, &principal, &id, input).await?)
}

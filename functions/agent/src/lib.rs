//! Agent tools REST handlers: the agent's own status and capacity.

use lambda_http::Request;
use switchboard_shared::domain::AgentState;
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{json, json_body, principal, HandlerResult};
use switchboard_shared::ops::{self, SetStatus};
use switchboard_shared::{http_function, App};

http_function!(
    /// `GET /agent/status`
    GET_STATUS = "agent-get-status" => get_status
);
http_function!(
    /// `PUT /agent/status`
    SET_STATUS = "agent-set-status" => set_status
);

/// Every function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[GET_STATUS, SET_STATUS];

/// The calling agent's status, capacity, load and rooms (offline with capacity 5 until they
/// first set one).
#[utoipa::path(get, path = "/agent/status", tag = "agent",
    responses((status = 200, body = AgentState), (status = 403, description = "not an agent", body = ErrorBody)))]
pub async fn get_status(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    json(200, &ops::get_status(app, &principal).await?)
}

/// The calling agent sets their status (`online` | `away` | `offline`), capacity (1 to 50) and
/// rooms. Going online, or having room for more, routes waiting sessions to them at once.
#[utoipa::path(put, path = "/agent/status", tag = "agent", request_body = SetStatus,
    responses((status = 200, body = AgentState), (status = 403, description = "not an agent", body = ErrorBody),
        (status = 404, description = "room_not_found", body = ErrorBody),
        (status = 422, description = "unknown status, capacity outside 1-50, too many rooms", body = ErrorBody)))]
pub async fn set_status(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let input: SetStatus = json_body(&req)?;
    json(200, &ops::set_status(app, &principal, input).await?)
}

//! Agent tools REST handlers: the agent's own status and capacity, and canned responses (list,
//! create, replace, delete, render for a session). Customers are refused (403) before anything
//! else is read. And the scheduled routing sweep, which keeps the agents' floor routed.

use lambda_http::Request;
use switchboard_shared::domain::tools::{CannedResponse, CannedScope, Shortcode};
use switchboard_shared::domain::{AgentState, CannedResponseId, Principal, Role, RoomId, UserId};
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{
    json, json_body, no_content, page_request, path_param, principal, query_param, HandlerResult, ListPage,
};
use switchboard_shared::lambda::ScheduledEvent;
use switchboard_shared::ops::routing;
use switchboard_shared::ops::{
    self, CannedListing, CreateCannedResponse, RenderCannedResponse, RenderedCannedResponse, SetStatus,
    UpdateAgent, UpdateCannedResponse,
};
use switchboard_shared::{http_function, scheduled_function, ApiError, App};

http_function!(
    /// `GET /agent/status`
    GET_STATUS = "agent-get-status" => get_status
);
http_function!(
    /// `PUT /agent/status`
    SET_STATUS = "agent-set-status" => set_status
);
http_function!(
    /// `PATCH /admin/agents/{agent_id}`
    UPDATE_AGENT = "agent-update-settings" => update_agent
);
http_function!(
    /// `GET /agent/canned-responses`
    LIST_CANNED_RESPONSES = "agent-list-canned-responses" => list_canned_responses
);
http_function!(
    /// `POST /agent/canned-responses`
    CREATE_CANNED_RESPONSE = "agent-create-canned-response" => create_canned_response
);
http_function!(
    /// `PUT /agent/canned-responses/{id}`
    UPDATE_CANNED_RESPONSE = "agent-update-canned-response" => update_canned_response
);
http_function!(
    /// `DELETE /agent/canned-responses/{id}`
    DELETE_CANNED_RESPONSE = "agent-delete-canned-response" => delete_canned_response
);
http_function!(
    /// `POST /agent/canned-responses/{id}/render`
    RENDER_CANNED_RESPONSE = "agent-render-canned-response" => render_canned_response
);

scheduled_function!(
    /// EventBridge `rate(1 minute)`
    ROUTING_SWEEP = "routing-sweep" => routing_sweep
);

/// Every scheduled function of this crate.
pub const SCHEDULED: &[switchboard_shared::lambda::ScheduledFunction] = &[ROUTING_SWEEP];

/// The routing sweep: the live counters and the agents' loads set to a recount, then the
/// waiting sessions routed to the agents with room (`ops::routing::sweep`). Its answer says
/// what it found and did.
pub async fn routing_sweep(app: &App, _event: ScheduledEvent) -> Result<serde_json::Value, ApiError> {
    let swept = routing::sweep(app).await?;
    serde_json::to_value(swept).map_err(|e| ApiError::Internal(format!("writing the sweep's account: {e}")))
}

/// Every HTTP function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[
    GET_STATUS,
    SET_STATUS,
    UPDATE_AGENT,
    LIST_CANNED_RESPONSES,
    CREATE_CANNED_RESPONSE,
    UPDATE_CANNED_RESPONSE,
    DELETE_CANNED_RESPONSE,
    RENDER_CANNED_RESPONSE,
];

/// The caller, if an agent or admin: customers get 403 before their request is read further.
fn staff(req: &Request) -> Result<Principal, ApiError> {
    let principal = principal(req)?;
    ops::require_staff(&principal)?;
    Ok(principal)
}

/// The canned responses the caller may use: an agent's personal ones, those of the rooms they
/// serve, the global ones (admins: all), each group by shortcode.
#[utoipa::path(get, path = "/agent/canned-responses", tag = "agent",
    params(("scope" = Option<CannedScope>, Query, description = "personal | room | global"),
        ("room_id" = Option<RoomId>, Query, description = "one room's responses (implies scope=room)"),
        ("shortcode" = Option<String>, Query, description = "shortcodes starting with this"),
        ("limit" = Option<usize>, Query, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, body = ListPage<CannedResponse>), (status = 400, body = ErrorBody),
        (status = 403, description = "a customer, or a room the agent does not serve", body = ErrorBody)))]
pub async fn list_canned_responses(app: &App, req: Request) -> HandlerResult {
    let principal = staff(&req)?;
    let page = page_request(&req)?;
    let scope = query_param(&req, "scope")
        .map(|s| CannedScope::parse(&s))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_scope", e.to_string()))?;
    let room_id = query_param(&req, "room_id")
        .map(|r| RoomId::parse(&r))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))?;
    let shortcode = query_param(&req, "shortcode")
        .map(|s| Shortcode::parse(&s))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_shortcode", e.to_string()))?;
    let listing = CannedListing { scope, room_id, shortcode, limit: page.limit, cursor: page.cursor };
    let (items, next) = ops::list_canned_responses(app.store.as_ref(), &principal, listing).await?;
    json(200, &ListPage::new(items, next))
}

/// Creates a canned response: personal, for a room the agent serves, or (admins) global.
#[utoipa::path(post, path = "/agent/canned-responses", tag = "agent", request_body = CreateCannedResponse,
    responses((status = 201, body = CannedResponse),
        (status = 403, description = "a customer, an agent writing a global response or for a room they do not serve", body = ErrorBody),
        (status = 404, description = "room_not_found", body = ErrorBody),
        (status = 409, description = "shortcode_taken", body = ErrorBody),
        (status = 422, description = "validation_failed, unknown_placeholder or unclosed_placeholder", body = ErrorBody)))]
pub async fn create_canned_response(app: &App, req: Request) -> HandlerResult {
    let principal = staff(&req)?;
    let input: CreateCannedResponse = json_body(&req)?;
    json(201, &ops::create_canned_response(app.store.as_ref(), &principal, input).await?)
}

/// Replaces a canned response's shortcode, title and body; scope and room stay.
#[utoipa::path(put, path = "/agent/canned-responses/{id}", tag = "agent",
    params(("id" = CannedResponseId, Path)), request_body = UpdateCannedResponse,
    responses((status = 200, body = CannedResponse),
        (status = 403, description = "a customer, or an agent changing a global response", body = ErrorBody),
        (status = 404, description = "canned_response_not_found", body = ErrorBody),
        (status = 409, description = "shortcode_taken", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_canned_response(app: &App, req: Request) -> HandlerResult {
    let principal = staff(&req)?;
    let id: CannedResponseId = path_param(&req, "id")?;
    let input: UpdateCannedResponse = json_body(&req)?;
    json(200, &ops::update_canned_response(app.store.as_ref(), &principal, &id, input).await?)
}

/// Deletes a canned response and frees its shortcode.
#[utoipa::path(delete, path = "/agent/canned-responses/{id}", tag = "agent",
    params(("id" = CannedResponseId, Path)),
    responses((status = 204, description = "deleted"),
        (status = 403, description = "a customer, or an agent deleting a global response", body = ErrorBody),
        (status = 404, description = "canned_response_not_found", body = ErrorBody)))]
pub async fn delete_canned_response(app: &App, req: Request) -> HandlerResult {
    let principal = staff(&req)?;
    let id: CannedResponseId = path_param(&req, "id")?;
    ops::delete_canned_response(app.store.as_ref(), &principal, &id).await?;
    no_content()
}

/// A canned response's text with its placeholders filled for a session the caller may read.
#[utoipa::path(post, path = "/agent/canned-responses/{id}/render", tag = "agent",
    params(("id" = CannedResponseId, Path)), request_body = RenderCannedResponse,
    responses((status = 200, body = RenderedCannedResponse), (status = 403, body = ErrorBody),
        (status = 404, description = "canned_response_not_found or session_not_found", body = ErrorBody)))]
pub async fn render_canned_response(app: &App, req: Request) -> HandlerResult {
    let principal = staff(&req)?;
    let id: CannedResponseId = path_param(&req, "id")?;
    let input: RenderCannedResponse = json_body(&req)?;
    json(200, &ops::render_canned_response(app.store.as_ref(), &principal, &id, input).await?)
}

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
    ops::require_role(&principal, &[Role::Agent], "set an agent status; only agents do")?;
    let input: SetStatus = json_body(&req)?;
    json(200, &ops::set_status(app, &principal, input).await?)
}

/// An admin sets an agent's capacity (1 to 50) and rooms (the fields sent; the status stays).
/// A capacity or rooms that give them room for more route waiting sessions to them at once.
#[utoipa::path(patch, path = "/admin/agents/{agent_id}", tag = "agent",
    params(("agent_id" = UserId, Path)), request_body = UpdateAgent,
    responses((status = 200, body = AgentState), (status = 403, description = "not an admin", body = ErrorBody),
        (status = 404, description = "agent_not_found (never set a status) or room_not_found", body = ErrorBody),
        (status = 409, description = "conflict: the agent's state kept changing; retry", body = ErrorBody),
        (status = 422, description = "validation_failed: an empty body, capacity outside 1-50, too many rooms", body = ErrorBody)))]
pub async fn update_agent(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Admin], "change another agent's settings; only admins do")?;
    let agent_id: UserId = path_param(&req, "agent_id")?;
    let input: UpdateAgent = json_body(&req)?;
    json(200, &ops::update_agent(app, &principal, &agent_id, input).await?)
}

//! Admin dashboard REST handlers: assignment and transfer, the read-side dashboard (overview,
//! agent performance, active and waiting lists, satisfaction, message analytics), the health
//! probe and the audit log.

use lambda_http::{Request, RequestExt};
use switchboard_shared::analytics::insights::{self, AgentPerformance, Satisfaction};
use switchboard_shared::analytics::messages::{self, MessageAnalytics};
use switchboard_shared::analytics::range::Range;
use switchboard_shared::changes::failed::FailedChange;
use switchboard_shared::domain::{now, AuditEvent, Overview, Role, Session, SessionId, UserId};
use switchboard_shared::error::{ErrorBody, STORE_RETRY_AFTER_SECONDS};
use switchboard_shared::http::json_body;
use switchboard_shared::http::{
    json, json_body_or_empty, page_request, path_param, principal, query_param, HandlerResult, ListPage,
};
use switchboard_shared::ops::audit::{self, AuditQuery};
use switchboard_shared::ops::dashboard::{ActiveSession, Health, HealthStatus, WaitingSession};
use switchboard_shared::ops::failed_changes;
use switchboard_shared::ops::transcript::{self as transcripts, Format, Transcript};
use switchboard_shared::ops::{self, AssignSession, TransferSession};
use switchboard_shared::{http_function, ApiError, App};

http_function!(
    /// `POST /admin/chat-dashboard/sessions/{id}/assign`
    ASSIGN_SESSION = "dashboard-assign-session" => assign_session
);
http_function!(
    /// `POST /admin/chat-dashboard/sessions/{id}/transfer`
    TRANSFER_SESSION = "dashboard-transfer-session" => transfer_session
);

http_function!(
    /// `GET /admin/chat-dashboard/sessions/{id}/transcript`
    TRANSCRIPT = "dashboard-transcript" => transcript
);
http_function!(
    /// `GET /admin/chat-dashboard/overview`
    OVERVIEW = "dashboard-overview" => overview
);
http_function!(
    /// `GET /admin/chat-dashboard/agent-performance`
    AGENT_PERFORMANCE = "dashboard-agent-performance" => agent_performance
);
http_function!(
    /// `GET /admin/chat-dashboard/active-sessions`
    ACTIVE_SESSIONS = "dashboard-active-sessions" => active_sessions
);
http_function!(
    /// `GET /admin/chat-dashboard/waiting-sessions`
    WAITING_SESSIONS = "dashboard-waiting-sessions" => waiting_sessions
);
http_function!(
    /// `GET /admin/chat-dashboard/satisfaction`
    SATISFACTION = "dashboard-satisfaction" => satisfaction
);
http_function!(
    /// `GET /admin/chat-dashboard/message-analytics`
    MESSAGE_ANALYTICS = "dashboard-message-analytics" => message_analytics
);
http_function!(
    /// `GET /admin/chat-dashboard/health` (no token)
    HEALTH = "dashboard-health" => health
);
http_function!(
    /// `GET /admin/audit-log`
    AUDIT_LOG = "dashboard-audit-log" => audit_log
);
http_function!(
    /// `GET /admin/failed-changes`
    FAILED_CHANGES = "dashboard-list-failed-changes" => failed_changes
);
http_function!(
    /// `POST /admin/failed-changes/{id}/replay`
    REPLAY_FAILED_CHANGE = "dashboard-replay-failed-change" => replay_failed_change
);

/// Every function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[
    ASSIGN_SESSION,
    TRANSFER_SESSION,
    TRANSCRIPT,
    OVERVIEW,
    AGENT_PERFORMANCE,
    ACTIVE_SESSIONS,
    WAITING_SESSIONS,
    SATISFACTION,
    MESSAGE_ANALYTICS,
    HEALTH,
    AUDIT_LOG,
    FAILED_CHANGES,
    REPLAY_FAILED_CHANGE,
];

/// The roles of the support floor, who may use the dashboard's agent-facing endpoints.
const STAFF: &[Role] = &[Role::Agent, Role::Admin];

/// `?from=&to=` of a report: RFC 3339 times or `yyyy-mm-dd` dates, the last 7 days by default,
/// at most 366 days.
fn range(req: &Request) -> Result<Range, ApiError> {
    Range::parse(query_param(req, "from").as_deref(), query_param(req, "to").as_deref(), now())
}

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
    ops::require_role(&principal, STAFF, "assign sessions")?;
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
    ops::require_role(&principal, STAFF, "transfer sessions")?;
    let id: SessionId = path_param(&req, "id")?;
    let input: TransferSession = json_body(&req)?;
    json(200, &ops::transfer_session(app, &principal, &id, input).await?)
}

/// The floor now: queue and active counts, today's closes and ratings, agents online and away,
/// the longest wait. Agents and admins.
#[utoipa::path(get, path = "/admin/chat-dashboard/overview", tag = "dashboard",
    responses((status = 200, body = Overview), (status = 403, body = ErrorBody)))]
pub async fn overview(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, STAFF, "read the dashboard")?;
    json(200, &ops::dashboard::overview(app.store.as_ref()).await?)
}

/// Per-agent figures of the metric engine (`docs/METRICS.md`) and the team's, over a range of
/// at most 366 days (whole past days from the analytics rollups, the rest from the event log):
/// admins see every agent with activity, agents only themselves.
#[utoipa::path(get, path = "/admin/chat-dashboard/agent-performance", tag = "dashboard",
    params(("from" = Option<String>, Query, description = "RFC 3339 time or yyyy-mm-dd (UTC); default 7 days before `to`"),
        ("to" = Option<String>, Query, description = "RFC 3339 time or yyyy-mm-dd (the end of that day); default now")),
    responses((status = 200, body = AgentPerformance),
        (status = 400, description = "invalid_parameter, invalid_range or range_too_long", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "rollup_not_built: more than 31 days of the range are not rolled up", body = ErrorBody)))]
pub async fn agent_performance(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, STAFF, "read agent performance")?;
    let range = range(&req)?;
    json(200, &insights::agent_performance(app.store.as_ref(), &principal, &range).await?)
}

/// One page of the active sessions (admins: all; agents: their own), each with its handle time so
/// far and whether the customer awaits an answer.
#[utoipa::path(get, path = "/admin/chat-dashboard/active-sessions", tag = "dashboard",
    params(("limit" = Option<usize>, Query, description = "1 to 200, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<ActiveSession>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn active_sessions(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, STAFF, "read the dashboard")?;
    let page = page_request(&req)?;
    json(
        200,
        &ops::dashboard::active_sessions(app.store.as_ref(), &principal, page.limit, page.cursor).await?,
    )
}

/// One page of the waiting queue in routing order (urgent to low, then first come first served),
/// with waits, queue positions and wait estimates. Agents and admins.
#[utoipa::path(get, path = "/admin/chat-dashboard/waiting-sessions", tag = "dashboard",
    params(("limit" = Option<usize>, Query, description = "1 to 200, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<WaitingSession>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn waiting_sessions(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, STAFF, "read the dashboard")?;
    let page = page_request(&req)?;
    json(
        200,
        &ops::dashboard::waiting_sessions(app.store.as_ref(), &principal, page.limit, page.cursor).await?,
    )
}

/// CSAT over a range: average, distribution, response rate, ratings per day and the latest
/// comments. Admins only.
#[utoipa::path(get, path = "/admin/chat-dashboard/satisfaction", tag = "dashboard",
    params(("from" = Option<String>, Query, description = "RFC 3339 time or yyyy-mm-dd (UTC); default 7 days before `to`"),
        ("to" = Option<String>, Query, description = "RFC 3339 time or yyyy-mm-dd (the end of that day); default now")),
    responses((status = 200, body = Satisfaction),
        (status = 400, description = "invalid_parameter, invalid_range or range_too_long", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "rollup_not_built: more than 31 days of the range are not rolled up", body = ErrorBody)))]
pub async fn satisfaction(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Admin], "read satisfaction; admins do")?;
    let range = range(&req)?;
    json(200, &insights::satisfaction(app.store.as_ref(), &principal, &range).await?)
}

/// Messages per UTC hour and role over a range, totals, and messages per session. Admins only.
#[utoipa::path(get, path = "/admin/chat-dashboard/message-analytics", tag = "dashboard",
    params(("from" = Option<String>, Query, description = "RFC 3339 time or yyyy-mm-dd (UTC); default 7 days before `to`"),
        ("to" = Option<String>, Query, description = "RFC 3339 time or yyyy-mm-dd (the end of that day); default now")),
    responses((status = 200, body = MessageAnalytics),
        (status = 400, description = "invalid_parameter, invalid_range or range_too_long", body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn message_analytics(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Admin], "read message analytics; admins do")?;
    let range = range(&req)?;
    json(200, &messages::message_analytics(app.store.as_ref(), &principal, &range).await?)
}

/// Whether the service and its store answer; needs no token. 503 with `status: degraded` when
/// the store cannot be read.
#[utoipa::path(get, path = "/admin/chat-dashboard/health", tag = "dashboard", security(()),
    responses((status = 200, body = Health), (status = 503, description = "the store cannot be read", body = Health)))]
pub async fn health(app: &App, _req: Request) -> HandlerResult {
    let health = ops::dashboard::health(app.store.as_ref(), env!("CARGO_PKG_VERSION")).await;
    let status = match health.status {
        HealthStatus::Ok => 200,
        HealthStatus::Degraded => 503,
    };
    let mut response = json(status, &health)?;
    if health.status == HealthStatus::Degraded {
        // As every other 503 of the store: a monitor or a load balancer knows when to look again.
        response.headers_mut().insert(
            lambda_http::http::header::RETRY_AFTER,
            lambda_http::http::HeaderValue::from(STORE_RETRY_AFTER_SECONDS),
        );
    }
    Ok(response)
}

/// One page of the event log, newest first, filtered by actor, session and time range (combined).
/// Admins only.
#[utoipa::path(get, path = "/admin/audit-log", tag = "dashboard",
    params(("actor" = Option<String>, Query, description = "only events this user caused"),
        ("session_id" = Option<SessionId>, Query, description = "only this session's events"),
        ("from" = Option<String>, Query, description = "RFC 3339 time or yyyy-mm-dd (UTC); default 7 days before `to`"),
        ("to" = Option<String>, Query, description = "RFC 3339 time or yyyy-mm-dd (the end of that day); default now"),
        ("limit" = Option<usize>, Query, description = "1 to 200, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<AuditEvent>),
        (status = 400, description = "invalid_parameter, invalid_range, range_too_long, invalid_limit or invalid_cursor", body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn audit_log(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Admin], "read the audit log; admins do")?;
    let invalid = |name: &str, error: switchboard_shared::domain::InvalidValue| {
        ApiError::bad_request("invalid_parameter", format!("{name}: {}", error.reason))
    };
    let actor = query_param(&req, "actor")
        .map(|raw| UserId::parse(&raw))
        .transpose()
        .map_err(|e| invalid("actor", e))?;
    let session_id = query_param(&req, "session_id")
        .map(|raw| SessionId::parse(&raw))
        .transpose()
        .map_err(|e| invalid("session_id", e))?;
    let query = AuditQuery { actor, session_id, range: range(&req)? };
    let page = page_request(&req)?;
    json(200, &audit::audit_log(app.store.as_ref(), &principal, &query, page.limit, page.cursor).await?)
}

/// A session's whole conversation — JSON (default), `?format=text` or `?format=csv` (a download)
/// — for admins, the session's agent, agents who handled it before and its customer. Private
/// notes are in it for agents and admins unless `?include_notes=false` (for a transcript to
/// share); never for a customer.
#[utoipa::path(get, path = "/admin/chat-dashboard/sessions/{id}/transcript", tag = "dashboard",
    params(("id" = SessionId, Path),
        ("format" = Option<String>, Query, description = "json (default) | text | csv"),
        ("include_notes" = Option<bool>, Query, description = "agents and admins: false leaves the private notes out (default true)")),
    responses((status = 200, body = Transcript, description = "JSON; text/plain or text/csv for the other formats"),
        (status = 400, description = "invalid_parameter", body = ErrorBody),
        (status = 403, description = "session_not_handled: an agent who never handled the waiting session", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "transcript_too_large", body = ErrorBody)))]
pub async fn transcript(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "id")?;
    let format = Format::parse(query_param(&req, "format").as_deref())?;
    let include_notes = match query_param(&req, "include_notes").as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!("include_notes: must be true or false, got {other:?}"),
            ))
        }
    };
    let transcript = transcripts::transcript(app.store.as_ref(), &principal, &id, include_notes).await?;
    let body = transcripts::render(&transcript, format)?;
    let mut response =
        lambda_http::Response::builder().status(200).header("content-type", format.content_type());
    if format != Format::Json {
        let file = format!("attachment; filename=\"transcript-{id}.{}\"", format.extension());
        response = response.header("content-disposition", file);
    }
    response
        .body(lambda_http::Body::Text(body))
        .map_err(|e| ApiError::Internal(format!("building response: {e}")))
}

/// One page of the change feed's records whose reactions kept failing, newest first (each with
/// the record, the last error and the attempts made). Admins only.
#[utoipa::path(get, path = "/admin/failed-changes", tag = "dashboard",
    params(("limit" = Option<usize>, Query, description = "1 to 200, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<FailedChange>),
        (status = 400, description = "invalid_limit or invalid_cursor", body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn failed_changes(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Admin], "read the failed changes; admins do")?;
    let page = page_request(&req)?;
    json(200, &failed_changes::list_failed_changes(app, &principal, page.limit, page.cursor).await?)
}

/// Runs a failed change's reactions again (after the cause is mended): 200 with the change, which
/// is no longer kept; 409 `replay_failed` when they fail again (it stays). Admins only.
#[utoipa::path(post, path = "/admin/failed-changes/{id}/replay", tag = "dashboard",
    params(("id" = String, Path, description = "the failed change's id")),
    responses((status = 200, body = FailedChange),
        (status = 403, body = ErrorBody),
        (status = 404, description = "failed_change_not_found", body = ErrorBody),
        (status = 409, description = "replay_failed", body = ErrorBody)))]
pub async fn replay_failed_change(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Admin], "replay failed changes; admins do")?;
    let id = req.path_parameters_ref().and_then(|params| params.first("id")).unwrap_or_default().to_owned();
    json(200, &failed_changes::replay_failed_change(app, &principal, &id).await?)
}

//! Analytics and reports REST handlers: daily figures from the rollups, the conversations CSV,
//! the stored daily PDF reports, and the rollup backfill.

use std::sync::Arc;

use lambda_http::Request;
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{principal, query_param, StreamingResult};
use switchboard_shared::ops::conversations;
use switchboard_shared::{streaming_http_function, ApiError, App};

streaming_http_function!(
    /// `GET /admin/reports/conversations.csv`
    CONVERSATIONS_CSV = "reports-conversations" => conversations_csv
);

/// Every HTTP function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[CONVERSATIONS_CSV];

/// One row per session created in the range, with its agents, figures (`docs/METRICS.md`,
/// section 10) and messages by role, as a CSV download written as it is read (streamed). Admins
/// only.
#[utoipa::path(get, path = "/admin/reports/conversations.csv", tag = "reports",
    params(("from" = Option<String>, Query, description = "RFC 3339 time or yyyy-mm-dd (UTC); default 7 days before `to`"),
        ("to" = Option<String>, Query, description = "RFC 3339 time or yyyy-mm-dd (the end of that day); default now; at most 366 days after `from`")),
    responses((status = 200, content_type = "text/csv", body = String,
            description = "a header row, then one row per session created in [from, to), by created_at then id; `Content-Disposition: attachment; filename=\"conversations-<from>-<to>.csv\"`"),
        (status = 400, description = "invalid_parameter, invalid_range or range_too_long", body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn conversations_csv(app: &App, req: Request) -> StreamingResult {
    let principal = principal(&req)?;
    let (from, to) = (query_param(&req, "from"), query_param(&req, "to"));
    let export = conversations::export(
        Arc::clone(&app.store),
        &principal,
        from.as_deref(),
        to.as_deref(),
        conversations::DAY_PAGE,
    )
    .await?;
    lambda_http::Response::builder()
        .status(200)
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", format!("attachment; filename=\"{}\"", export.file_name))
        .body(export.chunks)
        .map_err(|e| ApiError::Internal(format!("building response: {e}")))
}

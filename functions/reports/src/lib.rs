//! Analytics and reports handlers: the scheduled rollup, its backfill, the daily figures read
//! from the rollups, and the daily PDF reports (built on schedule, listed, downloaded).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use lambda_http::Request;
use lambda_http::RequestExt;
use serde_json::{json, Value};
use switchboard_shared::analytics::backfill::{self, StartBackfill};
use switchboard_shared::analytics::daily::{self, DailyReport};
use switchboard_shared::analytics::pdf_reports::{self, ReportSummary};
use switchboard_shared::analytics::range::Range;
use switchboard_shared::analytics::{conversations, rollup};
use switchboard_shared::config::{store_from_env, ConfigError};
use switchboard_shared::domain::{now, Principal, Role};
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{
    json, json_body, page_request, path_param, principal, query_param, HandlerResult, ListPage,
    StreamingResult,
};
use switchboard_shared::lambda::{respond, run_scheduled_event, ScheduledEvent};
use switchboard_shared::ops;
use switchboard_shared::repo::rollups::Job;
use switchboard_shared::reports::s3::S3ReportStore;
use switchboard_shared::reports::{DownloadLink, ReportId, ReportStore};
use switchboard_shared::store::ItemStore;
use switchboard_shared::{http_function, scheduled_function, streaming_http_function, ApiError, App};

scheduled_function!(
    /// EventBridge `rate(15 minutes)`
    ANALYTICS_ROLLUP = "analytics-rollup" => analytics_rollup
);
http_function!(
    /// `POST /admin/analytics/backfill`
    START_BACKFILL = "analytics-start-backfill" => start_backfill
);
http_function!(
    /// `GET /admin/analytics/backfill/{id}`
    GET_BACKFILL = "analytics-get-backfill" => get_backfill
);
http_function!(
    /// `GET /admin/reports/daily`
    DAILY_FIGURES = "reports-daily-figures" => daily_figures
);
streaming_http_function!(
    /// `GET /admin/reports/conversations.csv`
    CONVERSATIONS_CSV = "reports-conversations" => conversations_csv
);
scheduled_function!(
    /// EventBridge `cron(15 0 * * ? *)`: 00:15 UTC
    DAILY_REPORT = "reports-daily" => daily_report
);
http_function!(
    /// `GET /admin/reports`
    LIST_REPORTS = "reports-list" => list_reports
);
http_function!(
    /// `GET /admin/reports/{report_id}/download`
    DOWNLOAD_REPORT = "reports-download" => download_report
);

/// Every HTTP function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] =
    &[START_BACKFILL, GET_BACKFILL, DAILY_FIGURES, CONVERSATIONS_CSV, LIST_REPORTS, DOWNLOAD_REPORT];

/// Every scheduled function of this crate.
pub const SCHEDULED: &[switchboard_shared::lambda::ScheduledFunction] = &[ANALYTICS_ROLLUP, DAILY_REPORT];

/// A reports handler without an [`App`]: the report store and the request.
pub type ReportsHandler = for<'a> fn(&'a dyn ReportStore, Request) -> BoxFuture<'a, HandlerResult>;

/// The `main` of `reports-list` and `reports-download`: tracing, the reports bucket
/// (`REPORTS_BUCKET`), then the Lambda runtime loop. They build no [`App`]: the table, push and
/// WebSocket clients they never use would take them over the 6 MiB budget with the S3 client
/// (`docs/BENCHMARKS.md`).
pub async fn run_http(name: &'static str, handler: ReportsHandler) -> Result<(), lambda_http::Error> {
    switchboard_shared::telemetry::init();
    let reports = Arc::new(S3ReportStore::from_env().inspect_err(|error| {
        tracing::error!(%error, "configuration is unusable");
    })?);
    lambda_http::run(lambda_http::service_fn(move |req: Request| {
        let reports = Arc::clone(&reports);
        async move { Ok::<_, Infallible>(respond(name, req, |req| handler(reports.as_ref(), req)).await) }
    }))
    .await
}

/// The `main` of `reports-daily`: tracing, the table and the reports bucket (no push or WebSocket
/// client, as for [`run_http`]), then the Lambda runtime loop.
pub async fn run_daily() -> Result<(), lambda_http::Error> {
    switchboard_shared::telemetry::init();
    let clients = async { Ok::<_, ConfigError>((store_from_env().await?, S3ReportStore::from_env()?)) };
    let (store, reports) = clients.await.inspect_err(|error| {
        tracing::error!(%error, "configuration is unusable");
    })?;
    let (store, reports) = (&store, &reports);
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::lambda_runtime::LambdaEvent<Value>| async move {
            run_scheduled_event(DAILY_REPORT.name, event.payload, |event| {
                build_daily_reports(store.as_ref(), reports, event)
            })
            .await
            .map_err(lambda_http::Error::from)
        },
    ))
    .await
}

/// How long one scheduled run carries on backfill jobs after the rollup (its Lambda timeout is
/// 5 minutes).
pub const BACKFILL_BUDGET: Duration = Duration::from_secs(180);

/// The scheduled rollup: rebuilds the open days (and the days they change), then carries on
/// running backfill jobs.
pub async fn analytics_rollup(app: &App, event: ScheduledEvent) -> Result<Value, ApiError> {
    let started = Instant::now();
    let report = rollup::run(app.store.as_ref(), now()).await?;
    let jobs = backfill::continue_backfills(app.store.as_ref(), started + BACKFILL_BUDGET).await?;
    Ok(json!({
        "fired_at": switchboard_shared::domain::timestamp::format(event.time).unwrap_or_default(),
        "days": report.days,
        "totals": report.totals,
        "backfills": jobs.iter().map(|job| json!({"id": job.id, "days_done": job.days_done, "days_total": job.days_total})).collect::<Vec<_>>(),
    }))
}

/// An admin starts building the rollups of a range of days (at most 366, today at the latest).
/// The request builds days for up to 10 seconds: 201 with the job done, or 202 with it still
/// running (the scheduled rollup carries on; poll `GET .../backfill/{id}`). The same range asked
/// again while its job runs returns that job (200).
#[utoipa::path(post, path = "/admin/analytics/backfill", tag = "analytics", request_body = StartBackfill,
    responses((status = 201, description = "built", body = Job), (status = 202, description = "still running", body = Job),
        (status = 200, description = "the job already running for these days", body = Job),
        (status = 400, description = "invalid_parameter, invalid_range or range_too_long", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn start_backfill(app: &App, req: Request) -> HandlerResult {
    let principal = admin(&req)?;
    let input: StartBackfill = json_body(&req)?;
    let (job, created) = backfill::start_backfill(app.store.as_ref(), &principal, input).await?;
    let status = match (created, job.status) {
        (false, _) => 200,
        (true, switchboard_shared::repo::rollups::JobStatus::Done) => 201,
        (true, switchboard_shared::repo::rollups::JobStatus::Running) => 202,
    };
    json(status, &job)
}

/// A backfill job's progress. Admins.
#[utoipa::path(get, path = "/admin/analytics/backfill/{id}", tag = "analytics",
    params(("id" = String, Path, description = "job id")),
    responses((status = 200, body = Job), (status = 403, body = ErrorBody),
        (status = 400, description = "invalid_id", body = ErrorBody), (status = 404, description = "backfill_not_found", body = ErrorBody)))]
pub async fn get_backfill(app: &App, req: Request) -> HandlerResult {
    let principal = admin(&req)?;
    let id = req.path_parameters_ref().and_then(|params| params.first("id")).unwrap_or_default().to_owned();
    json(200, &backfill::get_backfill(app.store.as_ref(), &principal, &id).await?)
}

/// The figures of each day of a range (dates, today at the latest, at most 366 days; default the
/// last 7 days), and of the whole range: JSON, or CSV with `?format=csv` (one row per day and a
/// `total` row). Whole past days come from the rollups. Admins.
#[utoipa::path(get, path = "/admin/reports/daily", tag = "analytics",
    params(("from" = Option<String>, Query, description = "yyyy-mm-dd"), ("to" = Option<String>, Query, description = "yyyy-mm-dd, included"),
        ("format" = Option<String>, Query, description = "json (default) or csv")),
    responses((status = 200, description = "JSON, or CSV with format=csv",
            content((DailyReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "invalid_parameter, invalid_range or range_too_long", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "rollup_not_built: more than 31 days of the range are not rolled up", body = ErrorBody)))]
pub async fn daily_figures(app: &App, req: Request) -> HandlerResult {
    let principal = admin(&req)?;
    let csv = match query_param(&req, "format").as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!("format: must be json or csv, got {other:?}"),
            ))
        }
    };
    let range = Range::parse_days(
        query_param(&req, "from").as_deref(),
        query_param(&req, "to").as_deref(),
        now().date(),
    )?;
    let report = daily::daily(app.store.as_ref(), &principal, &range).await?;
    if !csv {
        return json(200, &report);
    }
    let file = format!(
        "attachment; filename=\"daily-{}-{}.csv\"",
        switchboard_shared::repo::stats::day_text(range.first_day()),
        switchboard_shared::repo::stats::day_text(range.last_day())
    );
    lambda_http::Response::builder()
        .status(200)
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", file)
        .body(lambda_http::Body::Text(daily::daily_csv(&report)?))
        .map_err(|e| ApiError::Internal(format!("building response: {e}")))
}

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
    let principal = admin(&req)?;
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

/// The caller, if an admin: every endpoint of this crate is theirs, and anyone else gets 403
/// before the request is read further.
fn admin(req: &Request) -> Result<Principal, ApiError> {
    let principal = principal(req)?;
    ops::require_role(&principal, &[Role::Admin], "read analytics or reports; admins do")?;
    Ok(principal)
}

/// The daily PDF report (00:15 UTC), in the local gateway: [`build_daily_reports`] with the
/// app's store and report store.
pub async fn daily_report(app: &App, event: ScheduledEvent) -> Result<Value, ApiError> {
    build_daily_reports(app.store.as_ref(), app.reports()?, event).await
}

/// `reports-daily`: builds the report of the day before the event's time — from its rollup,
/// rolling the day up first if the scheduled rollup has not built it whole yet — and stores it
/// as `daily/<day>.pdf`, replacing an earlier one, so a retry or a rerun writes the same report.
/// Days of the week before without a report (a failed run) are built too, and the report of
/// the day whose figures became final at midnight (9 days before) again, with them.
pub async fn build_daily_reports(
    store: &dyn ItemStore,
    reports: &dyn ReportStore,
    event: ScheduledEvent,
) -> Result<Value, ApiError> {
    let built = pdf_reports::build_daily_reports(store, reports, event.time.date(), now()).await?;
    Ok(json!({
        "fired_at": switchboard_shared::domain::timestamp::format(event.time).unwrap_or_default(),
        "built": built.into_iter().map(ReportSummary::from).collect::<Vec<_>>(),
    }))
}

/// `GET /admin/reports` in the local gateway.
pub async fn list_reports(app: &App, req: Request) -> HandlerResult {
    list(app.reports()?, req).await
}

/// `GET /admin/reports/{report_id}/download` in the local gateway.
pub async fn download_report(app: &App, req: Request) -> HandlerResult {
    download(app.reports()?, req).await
}

/// The stored daily reports, newest first: their ids, days, sizes and build times. Admins only.
#[utoipa::path(get, path = "/admin/reports", tag = "reports",
    params(("limit" = Option<usize>, Query, description = "1 to 200, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<ReportSummary>),
        (status = 400, description = "invalid_limit or invalid_cursor", body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(reports: &dyn ReportStore, req: Request) -> HandlerResult {
    let principal = admin(&req)?;
    let page = page_request(&req)?;
    json(200, &pdf_reports::list_reports(reports, &principal, page.limit, page.cursor).await?)
}

/// A URL that downloads a report's PDF without credentials for 15 minutes (in AWS a presigned
/// S3 URL). Admins only.
#[utoipa::path(get, path = "/admin/reports/{report_id}/download", tag = "reports",
    params(("report_id" = String, Path, description = "daily-yyyy-mm-dd", example = "daily-2026-01-05")),
    responses((status = 200, body = DownloadLink),
        (status = 400, description = "invalid_id: not a report id", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "report_not_found: the day's report is not built (yet)", body = ErrorBody)))]
pub async fn download(reports: &dyn ReportStore, req: Request) -> HandlerResult {
    let principal = admin(&req)?;
    let id: ReportId = path_param(&req, "report_id")?;
    json(200, &pdf_reports::download_report(reports, &principal, &id, now()).await?)
}

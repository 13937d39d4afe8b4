//! Reports: the stored daily PDF reports listed and handed out as download links (admins), and
//! the scheduled function that builds yesterday's from the analytics rollup.

use std::sync::Arc;

use lambda_http::Request;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use switchboard_shared::config::ConfigError;
use switchboard_shared::domain::{now, timestamp};
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{json, page_request, path_param, principal, HandlerResult, ListPage};
use switchboard_shared::ops::reports::{self, ReportSummary};
use switchboard_shared::reports::s3::S3ReportStore;
use switchboard_shared::reports::{format_day, parse_day, DownloadLink, ReportId, ReportStore};
use switchboard_shared::store::ItemStore;
use switchboard_shared::{http_function, ApiError, App};
use time::{Date, Duration, OffsetDateTime};

http_function!(
    /// `GET /admin/reports`
    LIST_REPORTS = "reports-list" => list_reports
);
http_function!(
    /// `GET /admin/reports/{report_id}/download`
    DOWNLOAD_REPORT = "reports-download" => download_report
);

/// Every HTTP function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[LIST_REPORTS, DOWNLOAD_REPORT];

/// The scheduled function that builds yesterday's daily report.
pub const DAILY_FUNCTION: &str = "reports-daily";

/// Adds the reports bucket (`REPORTS_BUCKET`) to a function's app: the reports functions' mains
/// run with it, so no other function links the S3 client.
pub fn with_s3_reports(app: App) -> Result<App, ConfigError> {
    Ok(app.with_reports(Arc::new(S3ReportStore::from_env()?)))
}

/// The stored reports, newest first: their ids, days, sizes and build times. Admins only.
#[utoipa::path(get, path = "/admin/reports", tag = "reports",
    params(("limit" = Option<usize>, Query, description = "1 to 200, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<ReportSummary>),
        (status = 400, description = "invalid_limit or invalid_cursor", body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list_reports(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let page = page_request(&req)?;
    json(200, &reports::list_reports(app.reports()?, &principal, page.limit, page.cursor).await?)
}

/// A URL that downloads a report's PDF without credentials for 15 minutes (in AWS a presigned
/// S3 URL). Admins only.
#[utoipa::path(get, path = "/admin/reports/{report_id}/download", tag = "reports",
    params(("report_id" = String, Path, description = "daily-yyyy-mm-dd", example = "daily-2026-01-05")),
    responses((status = 200, body = DownloadLink),
        (status = 400, description = "invalid_id: not a report id", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "report_not_found: the day's report is not built (yet)", body = ErrorBody)))]
pub async fn download_report(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: ReportId = path_param(&req, "report_id")?;
    json(200, &reports::download_report(app.reports()?, &principal, &id, now()).await?)
}

/// The EventBridge scheduled event (`detail-type: Scheduled Event`, `source: aws.events`): only
/// its time counts. A `detail.day` (`yyyy-mm-dd`) rebuilds that day instead, for an invocation
/// by hand.
#[derive(Debug, Clone, Deserialize)]
pub struct ScheduledEvent {
    /// When the schedule fired.
    #[serde(deserialize_with = "timestamp::deserialize")]
    pub time: OffsetDateTime,
    /// Empty for the schedule.
    #[serde(default)]
    pub detail: DailyDetail,
}

/// The `detail` of a [`ScheduledEvent`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyDetail {
    /// The day to build instead of the one before the event's.
    #[serde(default, deserialize_with = "optional_day")]
    pub day: Option<Date>,
}

fn optional_day<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Date>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| {
            parse_day(&text).ok_or_else(|| D::Error::custom(format!("day: {text:?} is not yyyy-mm-dd")))
        })
        .transpose()
}

/// Why `reports-daily` failed; the invocation fails, so Lambda retries it (twice, minutes apart).
#[derive(Debug, thiserror::Error)]
pub enum DailyError {
    /// The rollup has not built the whole day yet.
    #[error("the rollup of {day} is not built (or was built before the day ended); the report is not built")]
    RollupNotReady {
        /// The day.
        day: String,
    },
    /// Reading the rollup or storing the report failed.
    #[error("building the daily report failed: {0}")]
    Failed(#[from] ApiError),
}

impl From<DailyError> for Diagnostic {
    fn from(error: DailyError) -> Self {
        let error_type = match error {
            DailyError::RollupNotReady { .. } => "RollupNotReady",
            DailyError::Failed(_) => "ReportFailed",
        };
        Diagnostic { error_type: error_type.to_owned(), error_message: error.to_string() }
    }
}

/// `reports-daily` (EventBridge, 00:15 UTC): builds the daily report of the day before the
/// event's time from that day's rollup and stores it as `daily/<day>.pdf`, replacing an earlier
/// one, so a retry or a rerun writes the same report. Fails while the rollup has not built the
/// whole day.
pub async fn build_daily(
    store: &dyn ItemStore,
    reports: &dyn ReportStore,
    event: LambdaEvent<ScheduledEvent>,
) -> Result<ReportSummary, DailyError> {
    let day = event.payload.detail.day.unwrap_or_else(|| event.payload.time.date() - Duration::days(1));
    let id = ReportId::daily(day);
    match reports::build_daily_report(store, reports, day).await? {
        Some(stored) => {
            tracing::info!(report = %id, size_bytes = stored.size_bytes, "daily report stored");
            Ok(stored.into())
        }
        None => {
            tracing::error!(report = %id, "the rollup has not built the whole day; no report");
            Err(DailyError::RollupNotReady { day: format_day(day) })
        }
    }
}

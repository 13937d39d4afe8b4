//! The daily figures of a range of days (`GET /admin/reports/daily`, JSON or CSV): built days from
//! the rollups, the others from the event log, a row per day and a total.

use std::collections::BTreeMap;

use serde::Serialize;
use time::{Date, Duration};
use utoipa::ToSchema;

use super::admins_only;
use super::durations::DurationReport;
use super::messages::RoleCounts;
use super::range::{day_bounds, days_between, Range};
use super::read::{live_summary, plan, rollup_not_built, MAX_LIVE_DAYS};
use super::summaries::{MetricsReport, Summary};
use crate::csv::csv_field;
use crate::domain::{now, Principal, Role};
use crate::error::ApiError;
use crate::repo::rollups as stored;
use crate::repo::stats::{self, day_text};
use crate::store::ItemStore;

/// A range of whole UTC days, both ends included.
// The days of a [`Range`] of whole days as a daily report names them; its schema keeps the name
// the API has always given it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = DayRange)]
pub struct ReportedDays {
    /// First day, `yyyy-mm-dd`.
    #[serde(with = "crate::domain::timestamp::day")]
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// Last day, `yyyy-mm-dd`, included.
    #[serde(with = "crate::domain::timestamp::day")]
    #[schema(value_type = String, format = Date)]
    pub to: Date,
}

/// Where a day's figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The stored rollup (as of its `as_of`).
    Rollup,
    /// Read from the event log now (today, or a day the rollup has not built yet).
    Live,
}

/// One day of a daily report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DailyRow {
    /// The UTC day, `yyyy-mm-dd`.
    pub day: String,
    /// Where its figures come from.
    pub source: Source,
    /// The team's figures (its `agents` list is empty; see agent-performance).
    pub figures: MetricsReport,
    /// Messages sent that day, by role (day counters).
    pub messages: RoleCounts,
}

/// `GET /admin/reports/daily`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DailyReport {
    /// The days.
    pub range: ReportedDays,
    /// One row per day, oldest first.
    pub days: Vec<DailyRow>,
    /// The whole range (percentiles over every sample of the range, not an average of days).
    pub total: DailyRow,
}

/// The daily figures of a range: built days from the rollups (one Query), the others (today,
/// days not built yet: at most 31, else 409 `rollup_not_built`) from the event log; messages from
/// the day counters (one Query). Admins only.
pub async fn daily(
    store: &dyn ItemStore,
    principal: &Principal,
    range: &Range,
) -> Result<DailyReport, ApiError> {
    admins_only(principal, "read reports")?;
    let as_of = now();
    let (from, to) = (range.from, range.to.min(as_of));
    let plan = plan(store, from, to, as_of).await?;
    if plan.live_days() > MAX_LIVE_DAYS {
        return Err(rollup_not_built(&plan));
    }
    let mut by_day: BTreeMap<Date, (Source, Summary)> = BTreeMap::new();
    if let (Some(&first), Some(&last)) = (plan.built.first(), plan.built.last()) {
        for summary in stored::overall_days(store, first, last).await? {
            let day = summary.from.date();
            if plan.built.binary_search(&day).is_ok() {
                by_day.insert(day, (Source::Rollup, summary));
            }
        }
    }
    for (from, to) in &plan.live {
        for day in days_between(from.date(), (*to - Duration::nanoseconds(1)).date()) {
            let (start, end) = day_bounds(day);
            let span = Range { from: start.max(*from), to: end.min(*to) };
            let (summary, _) = live_summary(store, &span, as_of).await?;
            by_day.insert(day, (Source::Live, summary));
        }
    }
    let counters: BTreeMap<String, stats::Day> = stats::days(store, range.first_day(), range.last_day())
        .await?
        .into_iter()
        .map(|day| (day.day.clone(), day))
        .collect();
    let messages_of = |day: Date| {
        let counters = counters.get(&day_text(day));
        let count = |role: Role| counters.map_or(0, |c| c.get(&format!("messages_{}", role.as_str())));
        RoleCounts { customer: count(Role::Customer), agent: count(Role::Agent), admin: count(Role::Admin) }
    };
    let mut total = Summary::new(from, to, as_of);
    let mut total_messages = RoleCounts::default();
    let mut days = Vec::new();
    for day in range.days() {
        let (source, summary) = by_day.remove(&day).ok_or_else(|| {
            ApiError::Internal(format!("day {} is neither built nor read live", day_text(day)))
        })?;
        total.merge(&summary);
        let messages = messages_of(day);
        total_messages.customer += messages.customer;
        total_messages.agent += messages.agent;
        total_messages.admin += messages.admin;
        let mut figures = summary.report();
        figures.agents.clear();
        days.push(DailyRow { day: day_text(day), source, figures, messages });
    }
    let mut figures = total.report();
    figures.agents.clear();
    let source =
        if days.iter().all(|row| row.source == Source::Rollup) { Source::Rollup } else { Source::Live };
    let total = DailyRow { day: "total".to_owned(), source, figures, messages: total_messages };
    let range = ReportedDays { from: range.first_day(), to: range.last_day() };
    Ok(DailyReport { range, days, total })
}

/// The CSV columns of a daily report, in order.
pub const DAILY_CSV_COLUMNS: &[&str] = &[
    "day",
    "source",
    "as_of",
    "sessions_created",
    "sessions_reopened",
    "sessions_closed",
    "wait_count",
    "wait_average_seconds",
    "wait_median_seconds",
    "wait_p90_seconds",
    "abandoned",
    "first_response_count",
    "first_response_average_seconds",
    "first_response_median_seconds",
    "first_response_p90_seconds",
    "unanswered",
    "handle_count",
    "handle_average_seconds",
    "handle_median_seconds",
    "handle_p90_seconds",
    "resolved",
    "reopened_within_7_days",
    "resolution_pending",
    "resolution_rate",
    "csat_average",
    "csat_rated",
    "csat_response_rate",
    "csat_1",
    "csat_2",
    "csat_3",
    "csat_4",
    "csat_5",
    "transfers",
    "messages_customer",
    "messages_agent",
    "messages_admin",
];

/// The report as CSV (RFC 4180, CRLF): a header, one row per day, and a `total` row. Empty
/// cells for figures with nothing to measure.
pub fn daily_csv(report: &DailyReport) -> Result<String, ApiError> {
    let mut out = DAILY_CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for row in report.days.iter().chain(std::iter::once(&report.total)) {
        out.push_str(&csv_row(row)?.join(","));
        out.push_str("\r\n");
    }
    Ok(out)
}

fn csv_row(row: &DailyRow) -> Result<Vec<String>, ApiError> {
    let f = &row.figures;
    let opt = |value: Option<f64>| value.map(|v| v.to_string()).unwrap_or_default();
    let durations = |d: &DurationReport| {
        vec![d.count.to_string(), opt(d.average_seconds), opt(d.median_seconds), opt(d.p90_seconds)]
    };
    let as_of = crate::domain::timestamp::format(f.as_of)
        .map_err(|e| ApiError::Internal(format!("formatting a time: {e}")))?;
    let mut cells = vec![
        csv_field(&row.day),
        match row.source {
            Source::Rollup => "rollup".to_owned(),
            Source::Live => "live".to_owned(),
        },
        as_of,
        f.sessions_created.to_string(),
        f.sessions_reopened.to_string(),
        f.sessions_closed.to_string(),
    ];
    cells.extend(durations(&f.wait));
    cells.push(f.abandoned.count.to_string());
    cells.extend(durations(&f.first_response));
    cells.push(f.unanswered.to_string());
    cells.extend(durations(&f.handle));
    cells.extend([
        f.resolution.resolved.to_string(),
        f.resolution.reopened.to_string(),
        f.resolution.pending.to_string(),
        opt(f.resolution.rate),
        opt(f.csat.average),
        f.csat.rated.to_string(),
        opt(f.csat.response_rate),
    ]);
    cells.extend(f.csat.distribution.iter().map(ToString::to_string));
    cells.extend([
        f.transfers.to_string(),
        row.messages.customer.to_string(),
        row.messages.agent.to_string(),
        row.messages.admin.to_string(),
    ]);
    Ok(cells)
}

//! Stored reports: their ids and the `ReportStore` port (an S3 bucket in AWS, a folder locally).
//! What a report shows and how it is built: `analytics::pdf_reports`.

pub mod folder;
#[cfg(feature = "s3")]
pub mod s3;

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use serde::{Serialize, Serializer};
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};
use utoipa::ToSchema;

use crate::domain::InvalidValue;

/// How long a download link works: long enough to click, short enough not to be shared.
pub const DOWNLOAD_LINK_LIFETIME: Duration = Duration::minutes(15);

/// The content type of every stored report.
pub const PDF_CONTENT_TYPE: &str = "application/pdf";

const DAY_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

/// What a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// One UTC day.
    Daily,
}

impl ReportKind {
    fn as_str(self) -> &'static str {
        match self {
            ReportKind::Daily => "daily",
        }
    }
}

/// A report: its kind and day. The API calls it `daily-2026-01-05`; it is stored as
/// `daily/2026-01-05.pdf`. Ordered oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReportId {
    day: Date,
    kind: ReportKind,
}

impl ReportId {
    /// The daily report of `day` (UTC).
    pub fn daily(day: Date) -> Self {
        Self { day, kind: ReportKind::Daily }
    }

    /// The day it covers.
    pub fn day(&self) -> Date {
        self.day
    }

    /// Its kind.
    pub fn kind(&self) -> ReportKind {
        self.kind
    }

    /// Where it is stored: `daily/2026-01-05.pdf`.
    pub fn object_name(&self) -> String {
        format!("{}/{}.pdf", self.kind.as_str(), format_day(self.day))
    }

    /// The id of a stored object's name; `None` for a name no report has.
    pub fn from_object_name(name: &str) -> Option<Self> {
        let (kind, file) = name.split_once('/')?;
        let day = file.strip_suffix(".pdf")?;
        (kind == ReportKind::Daily.as_str()).then_some(())?;
        Some(Self::daily(parse_day(day)?))
    }

    /// The name a downloaded file gets: `switchboard-daily-2026-01-05.pdf`.
    pub fn file_name(&self) -> String {
        format!("switchboard-{self}.pdf")
    }
}

impl fmt::Display for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.kind.as_str(), format_day(self.day))
    }
}

impl FromStr for ReportId {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let invalid = || {
            InvalidValue::new("report_id", format!("{text:?} is not a report id such as daily-2026-01-05"))
        };
        let day = text.strip_prefix("daily-").ok_or_else(invalid)?;
        parse_day(day).map(Self::daily).ok_or_else(invalid)
    }
}

impl Serialize for ReportId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `2026-01-05`.
pub fn format_day(day: Date) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day())
}

/// A `yyyy-mm-dd` day, exactly.
pub fn parse_day(text: &str) -> Option<Date> {
    (text.len() == 10).then_some(())?;
    Date::parse(text, DAY_FORMAT).ok()
}

/// A report as stored: its id, size and when it was (last) written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    /// Which report.
    pub id: ReportId,
    /// Size of the PDF.
    pub size_bytes: u64,
    /// When it was written (a rebuild overwrites it).
    pub created_at: OffsetDateTime,
}

/// A link that downloads a report without credentials until it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DownloadLink {
    /// GET this URL (no `Authorization` header) for the PDF.
    pub url: String,
    /// When the URL stops working.
    #[serde(with = "crate::domain::timestamp")]
    pub expires_at: OffsetDateTime,
}

/// Why the report store failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportStoreError {
    /// The backend (S3, the file system) failed.
    #[error("report store: {0}")]
    Backend(String),
}

impl From<ReportStoreError> for crate::ApiError {
    fn from(error: ReportStoreError) -> Self {
        crate::ApiError::Internal(error.to_string())
    }
}

/// Where reports are kept. Writing a report again replaces it.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores `bytes` as the report `id` (replacing an earlier version).
    async fn put(&self, id: &ReportId, bytes: Vec<u8>, content_type: &str) -> Result<(), ReportStoreError>;

    /// The report's bytes; `None` when it is not stored.
    async fn get(&self, id: &ReportId) -> Result<Option<Vec<u8>>, ReportStoreError>;

    /// The report's size and time, without its bytes; `None` when it is not stored.
    async fn info(&self, id: &ReportId) -> Result<Option<StoredReport>, ReportStoreError>;

    /// Up to `limit` reports, newest first, starting after (older than) `after`; and the last
    /// one listed when more may follow.
    async fn list(
        &self,
        limit: usize,
        after: Option<ReportId>,
    ) -> Result<(Vec<StoredReport>, Option<ReportId>), ReportStoreError>;

    /// A link that downloads the report for [`DOWNLOAD_LINK_LIFETIME`] from `now`.
    async fn download_link(
        &self,
        id: &ReportId,
        now: OffsetDateTime,
    ) -> Result<DownloadLink, ReportStoreError>;
}

/// One page of `reports`, newest first, after (older than) `after`; and the last one of the page
/// when more follow. Both stores list every name (a year of daily reports is one S3 listing)
/// and page them here.
pub fn page_newest_first(
    mut reports: Vec<StoredReport>,
    limit: usize,
    after: Option<ReportId>,
) -> (Vec<StoredReport>, Option<ReportId>) {
    reports.retain(|report| after.is_none_or(|after| report.id < after));
    reports.sort_by_key(|report| std::cmp::Reverse(report.id));
    let more = reports.len() > limit;
    reports.truncate(limit);
    let next = if more { reports.last().map(|report| report.id) } else { None };
    (reports, next)
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    fn stored(day: Date) -> StoredReport {
        StoredReport { id: ReportId::daily(day), size_bytes: 1, created_at: datetime!(2026-01-10 00:15 UTC) }
    }

    #[test]
    fn a_daily_reports_id_object_name_and_file_name_name_its_day() {
        let id = ReportId::daily(date!(2026 - 01 - 05));

        assert_eq!(id.to_string(), "daily-2026-01-05");
        assert_eq!(id.object_name(), "daily/2026-01-05.pdf");
        assert_eq!(id.file_name(), "switchboard-daily-2026-01-05.pdf");
        assert_eq!("daily-2026-01-05".parse::<ReportId>().unwrap(), id);
        assert_eq!(ReportId::from_object_name("daily/2026-01-05.pdf"), Some(id));
    }

    #[test]
    fn ids_and_object_names_that_are_not_a_daily_report_of_a_real_day_are_refused() {
        for text in
            ["", "daily-", "daily-2026-1-5", "daily-2026-02-30", "weekly-2026-01-05", "daily-2026-01-05x"]
        {
            assert!(text.parse::<ReportId>().is_err(), "{text:?} was accepted");
        }
        for name in
            ["daily/2026-01-05", "daily/../2026-01-05.pdf", "other/2026-01-05.pdf", "daily/2026-01-05.pdf/x"]
        {
            assert_eq!(ReportId::from_object_name(name), None, "{name:?} was accepted");
        }
    }

    #[test]
    fn pages_list_the_newest_first_and_continue_after_the_last_one_listed() {
        let days =
            [date!(2026 - 01 - 03), date!(2026 - 01 - 01), date!(2026 - 01 - 04), date!(2026 - 01 - 02)];
        let all: Vec<StoredReport> = days.into_iter().map(stored).collect();

        let (first, next) = page_newest_first(all.clone(), 3, None);
        let (second, last) = page_newest_first(all, 3, next);

        let listed = |page: &[StoredReport]| page.iter().map(|r| r.id.to_string()).collect::<Vec<_>>();
        assert_eq!(listed(&first), ["daily-2026-01-04", "daily-2026-01-03", "daily-2026-01-02"]);
        assert_eq!(next, Some(ReportId::daily(date!(2026 - 01 - 02))));
        assert_eq!(listed(&second), ["daily-2026-01-01"]);
        assert_eq!(last, None);
    }

    #[test]
    fn a_page_that_ends_exactly_at_the_last_report_has_no_next_cursor() {
        let all = vec![stored(date!(2026 - 01 - 01)), stored(date!(2026 - 01 - 02))];

        let (page, next) = page_newest_first(all, 2, None);

        assert_eq!(page.len(), 2);
        assert_eq!(next, None);
    }
}

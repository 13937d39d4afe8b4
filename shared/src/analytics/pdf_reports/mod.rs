//! The daily PDF reports: what a day's report shows (`layout`), its PDF (`pdf`), building and
//! storing it, and the stored ones listed and handed out as download links (admins only).

pub mod layout;
#[cfg(feature = "pdf")]
pub mod pdf;

use serde::Serialize;
use serde_json::{Map, Value};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use crate::domain::{Principal, Role};
use crate::error::ApiError;
use crate::http::ListPage;
use crate::reports::{DownloadLink, ReportId, ReportKind, ReportStore, StoredReport};
use crate::store::Cursor;

/// The cursor attribute holding the last report of a page.
const CURSOR_REPORT: &str = "report";

/// A stored report, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReportSummary {
    /// `daily-2026-01-05`: what `GET /admin/reports/{report_id}/download` takes.
    #[schema(value_type = String, example = "daily-2026-01-05")]
    pub id: ReportId,
    /// The UTC day it covers.
    #[serde(with = "crate::domain::timestamp::day")]
    #[schema(value_type = String, format = Date, example = "2026-01-05")]
    pub day: Date,
    /// `daily`.
    pub kind: ReportKind,
    /// Size of the PDF.
    pub size_bytes: u64,
    /// When it was built (a rebuild of the day replaces it).
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: OffsetDateTime,
}

impl From<StoredReport> for ReportSummary {
    fn from(report: StoredReport) -> Self {
        Self {
            id: report.id,
            day: report.id.day(),
            kind: report.id.kind(),
            size_bytes: report.size_bytes,
            created_at: report.created_at,
        }
    }
}

fn require_admin(principal: &Principal) -> Result<(), ApiError> {
    if principal.role != Role::Admin {
        return Err(ApiError::forbidden("forbidden", "reports are for admins"));
    }
    Ok(())
}

/// One page of the stored reports, newest first. Admins only.
pub async fn list_reports(
    reports: &dyn ReportStore,
    principal: &Principal,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<ListPage<ReportSummary>, ApiError> {
    require_admin(principal)?;
    let after = cursor
        .map(|cursor| {
            cursor
                .attributes()
                .get(CURSOR_REPORT)
                .and_then(Value::as_str)
                .and_then(|id| id.parse::<ReportId>().ok())
                .filter(|_| cursor.attributes().len() == 1)
                .ok_or_else(|| {
                    ApiError::bad_request("invalid_cursor", "the cursor is not one this list returned")
                })
        })
        .transpose()?;
    let (page, last) = reports.list(limit, after).await?;
    let next = last.map(|id| {
        Cursor::from_attributes(Map::from_iter([(CURSOR_REPORT.to_owned(), Value::String(id.to_string()))]))
    });
    Ok(ListPage::new(page.into_iter().map(ReportSummary::from).collect(), next))
}

/// A link that downloads the report for 15 minutes from `now`; 404 `report_not_found` when it
/// is not built (yet). Admins only.
pub async fn download_report(
    reports: &dyn ReportStore,
    principal: &Principal,
    id: &ReportId,
    now: OffsetDateTime,
) -> Result<DownloadLink, ApiError> {
    require_admin(principal)?;
    if reports.info(id).await?.is_none() {
        return Err(ApiError::not_found("report_not_found", format!("report {id} has not been built")));
    }
    Ok(reports.download_link(id, now).await?)
}

#[cfg(feature = "pdf")]
pub use building::{build_daily_report, build_daily_reports, MISSING_REPORTS_LOOKBACK_DAYS};

/// Building reports (with the PDF renderer: the `pdf` feature).
#[cfg(feature = "pdf")]
mod building {
    use time::{Date, Duration, OffsetDateTime, Time};

    use crate::analytics::rollup::{self, DayRollup};
    use crate::error::ApiError;
    use crate::reports::{ReportId, ReportStore, StoredReport, PDF_CONTENT_TYPE};
    use crate::store::ItemStore;

    /// How many days before the scheduled one a run checks for missing reports.
    pub const MISSING_REPORTS_LOOKBACK_DAYS: i64 = 6;

    /// The end of a UTC day (`None` for the last day `time` knows).
    fn end_of(day: Date) -> Option<OffsetDateTime> {
        day.next_day().map(|next| OffsetDateTime::new_utc(next, Time::MIDNIGHT))
    }

    /// When a day's figures are final: its end plus the follow-up window and a day
    /// ([`rollup::SETTLE_DAYS`] − 1 days); no reopen or rating can change them after.
    fn final_at(day: Date) -> Option<OffsetDateTime> {
        end_of(day).map(|ended| ended + Duration::days(rollup::SETTLE_DAYS - 1))
    }

    /// The day's rollup as settled as it can be at `now`: built after the day ended, and after
    /// its figures became final once they have. The stored one, or the day rolled up now.
    async fn complete_rollup(
        store: &dyn ItemStore,
        day: Date,
        now: OffsetDateTime,
    ) -> Result<DayRollup, ApiError> {
        let wanted = match final_at(day) {
            Some(settled) if now >= settled => Some(settled),
            _ => end_of(day),
        };
        if let Some(stored) = rollup::day(store, day).await? {
            if wanted.is_some_and(|wanted| stored.built_at >= wanted) {
                return Ok(stored);
            }
        }
        rollup::rollup_days(store, day, day, now, &mut |_| {}).await?;
        rollup::day(store, day)
            .await?
            .ok_or_else(|| ApiError::Internal(format!("the rollup of {day} was built but cannot be read")))
    }

    /// Builds the daily report of `day` from its rollup (rolling the day up first when the
    /// stored rollup is from before the day ended, or before its figures became final once they
    /// have) and stores it, replacing an earlier one.
    /// 409 `day_not_over` for a day that has not ended at `now`.
    pub async fn build_daily_report(
        store: &dyn ItemStore,
        reports: &dyn ReportStore,
        day: Date,
        now: OffsetDateTime,
    ) -> Result<StoredReport, ApiError> {
        let id = ReportId::daily(day);
        if end_of(day).is_none_or(|ended| now < ended) {
            return Err(ApiError::conflict(
                "day_not_over",
                format!("report {id} can be built once the day is over"),
            ));
        }
        let rollup = complete_rollup(store, day, now).await?;
        let bytes = crate::analytics::pdf_reports::pdf::render(&rollup);
        let size_bytes = bytes.len() as u64;
        reports.put(&id, bytes, PDF_CONTENT_TYPE).await?;
        tracing::info!(report = %id, size_bytes, "daily report stored");
        Ok(StoredReport { id, size_bytes, created_at: now })
    }

    /// The scheduled run on `today`: the report of the day before, always (a rerun replaces
    /// it); those of the [`MISSING_REPORTS_LOOKBACK_DAYS`] days before it that have none (a run
    /// that failed, a gateway that was not running); and again the report of the day whose
    /// figures became final at midnight ([`rollup::SETTLE_DAYS`] days ago), which was built
    /// with its resolutions and ratings still open. Returns what it built, oldest first.
    pub async fn build_daily_reports(
        store: &dyn ItemStore,
        reports: &dyn ReportStore,
        today: Date,
        now: OffsetDateTime,
    ) -> Result<Vec<StoredReport>, ApiError> {
        let yesterday = today - Duration::days(1);
        let window = usize::try_from(MISSING_REPORTS_LOOKBACK_DAYS + 1).unwrap_or(1);
        let (stored, _) = reports.list(window, Some(ReportId::daily(today))).await?;
        let mut built =
            vec![build_daily_report(store, reports, today - Duration::days(rollup::SETTLE_DAYS), now).await?];
        for back in (1..=MISSING_REPORTS_LOOKBACK_DAYS).rev() {
            let day = yesterday - Duration::days(back);
            if !stored.iter().any(|report| report.id.day() == day) {
                built.push(build_daily_report(store, reports, day, now).await?);
            }
        }
        built.push(build_daily_report(store, reports, yesterday, now).await?);
        Ok(built)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use time::macros::{date, datetime};

    use super::*;
    use crate::domain::UserId;
    use crate::reports::{page_newest_first, ReportStoreError};

    /// Reports in memory, with links that name the report.
    #[derive(Default)]
    struct Memory(Mutex<Vec<StoredReport>>);

    #[async_trait]
    impl ReportStore for Memory {
        async fn put(&self, id: &ReportId, bytes: Vec<u8>, _: &str) -> Result<(), ReportStoreError> {
            let mut stored = self.0.lock().unwrap();
            stored.retain(|r| r.id != *id);
            stored.push(StoredReport { id: *id, size_bytes: bytes.len() as u64, created_at: NOW });
            Ok(())
        }
        async fn get(&self, _: &ReportId) -> Result<Option<Vec<u8>>, ReportStoreError> {
            Ok(None)
        }
        async fn info(&self, id: &ReportId) -> Result<Option<StoredReport>, ReportStoreError> {
            Ok(self.0.lock().unwrap().iter().find(|r| r.id == *id).cloned())
        }
        async fn list(
            &self,
            limit: usize,
            after: Option<ReportId>,
        ) -> Result<(Vec<StoredReport>, Option<ReportId>), ReportStoreError> {
            Ok(page_newest_first(self.0.lock().unwrap().clone(), limit, after))
        }
        async fn download_link(
            &self,
            id: &ReportId,
            now: OffsetDateTime,
        ) -> Result<DownloadLink, ReportStoreError> {
            Ok(DownloadLink { url: format!("memory:{id}"), expires_at: now })
        }
    }

    const NOW: OffsetDateTime = datetime!(2026-01-10 12:00 UTC);

    fn caller(role: Role) -> Principal {
        Principal { user_id: UserId::parse("someone").unwrap(), role, name: None }
    }

    async fn with_days(days: &[Date]) -> Memory {
        let memory = Memory::default();
        for day in days {
            memory.put(&ReportId::daily(*day), vec![0; 10], "application/pdf").await.unwrap();
        }
        memory
    }

    #[tokio::test]
    async fn admins_page_through_reports_newest_first_with_the_cursor_of_each_page() {
        let memory = with_days(&[date!(2026 - 01 - 07), date!(2026 - 01 - 08), date!(2026 - 01 - 09)]).await;
        let admin = caller(Role::Admin);

        let first = list_reports(&memory, &admin, 2, None).await.unwrap();
        let cursor = Cursor::decode(first.next_cursor.as_deref().unwrap()).unwrap();
        let second = list_reports(&memory, &admin, 2, Some(cursor)).await.unwrap();

        let ids =
            |page: &ListPage<ReportSummary>| page.items.iter().map(|r| r.id.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(&first), ["daily-2026-01-09", "daily-2026-01-08"]);
        assert_eq!(ids(&second), ["daily-2026-01-07"]);
        assert_eq!(second.next_cursor, None);
    }

    #[tokio::test]
    async fn a_cursor_of_another_list_is_a_bad_request() {
        let memory = with_days(&[date!(2026 - 01 - 07)]).await;
        let foreign = Cursor::from_attributes(Map::from_iter([("pk".to_owned(), Value::String("x".into()))]));

        let refused = list_reports(&memory, &caller(Role::Admin), 2, Some(foreign)).await;

        assert_eq!(refused.unwrap_err().code(), "invalid_cursor");
    }

    #[tokio::test]
    async fn agents_and_customers_may_neither_list_nor_download_reports() {
        let memory = with_days(&[date!(2026 - 01 - 07)]).await;
        let id = ReportId::daily(date!(2026 - 01 - 07));

        for role in [Role::Agent, Role::Customer] {
            let listed = list_reports(&memory, &caller(role), 2, None).await;
            let downloaded = download_report(&memory, &caller(role), &id, NOW).await;

            assert_eq!(listed.unwrap_err().code(), "forbidden");
            assert_eq!(downloaded.unwrap_err().code(), "forbidden");
        }
    }

    #[tokio::test]
    async fn a_day_without_a_report_is_report_not_found() {
        let memory = with_days(&[date!(2026 - 01 - 07)]).await;

        let missing =
            download_report(&memory, &caller(Role::Admin), &ReportId::daily(date!(2026 - 01 - 08)), NOW)
                .await;
        let found =
            download_report(&memory, &caller(Role::Admin), &ReportId::daily(date!(2026 - 01 - 07)), NOW)
                .await;

        assert_eq!(missing.unwrap_err().code(), "report_not_found");
        assert_eq!(found.unwrap().url, "memory:daily-2026-01-07");
    }

    #[test]
    fn a_summary_names_its_day_kind_and_time_as_the_api_writes_them() {
        let report =
            StoredReport { id: ReportId::daily(date!(2026 - 01 - 05)), size_bytes: 2048, created_at: NOW };

        let json = serde_json::to_value(ReportSummary::from(report)).unwrap();

        assert_eq!(
            json,
            serde_json::json!({"id": "daily-2026-01-05", "day": "2026-01-05", "kind": "daily",
                "size_bytes": 2048, "created_at": "2026-01-10T12:00:00.000Z"})
        );
    }
}

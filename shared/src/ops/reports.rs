//! Reports: the stored ones listed and handed out as download links (admins only), and a day's
//! PDF built and stored.

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
pub use building::{build_daily_report, build_missing_daily_reports, MISSING_REPORTS_LOOKBACK_DAYS};

/// Building reports (with the PDF renderer: the `pdf` feature).
#[cfg(feature = "pdf")]
mod building {
    use time::{Date, Duration, OffsetDateTime, Time};

    use crate::error::ApiError;
    use crate::ops::rollup;
    use crate::reports::{ReportId, ReportStore, StoredReport};
    use crate::store::ItemStore;

    /// How far back [`build_missing_daily_reports`] looks.
    pub const MISSING_REPORTS_LOOKBACK_DAYS: i64 = 7;

    /// Builds the daily report of `day` from its rollup and stores it (replacing an earlier one);
    /// `None` while the rollup has not built the whole day (not at all, or before the day ended).
    pub async fn build_daily_report(
        store: &dyn ItemStore,
        reports: &dyn ReportStore,
        day: Date,
    ) -> Result<Option<StoredReport>, ApiError> {
        let Some(rollup) = rollup::day(store, day).await? else { return Ok(None) };
        let ended = day.next_day().map(|next| OffsetDateTime::new_utc(next, Time::MIDNIGHT));
        if ended.is_none_or(|ended| rollup.built_at < ended) {
            return Ok(None);
        }
        let id = ReportId::daily(day);
        reports.put(&id, crate::reports::pdf::render(&rollup), crate::reports::PDF_CONTENT_TYPE).await?;
        let stored = reports.info(&id).await?;
        stored
            .map(Some)
            .ok_or_else(|| ApiError::Internal(format!("report {id} was stored but cannot be read")))
    }

    /// Builds the daily reports of the last [`MISSING_REPORTS_LOOKBACK_DAYS`] days before `today`
    /// that have none yet and whose rollup is complete (the local gateway, at start and after
    /// each rollup run); returns the reports built.
    pub async fn build_missing_daily_reports(
        store: &dyn ItemStore,
        reports: &dyn ReportStore,
        today: Date,
    ) -> Result<Vec<StoredReport>, ApiError> {
        let mut built = Vec::new();
        for back in (1..=MISSING_REPORTS_LOOKBACK_DAYS).rev() {
            let day = today - Duration::days(back);
            if reports.info(&ReportId::daily(day)).await?.is_none() {
                built.extend(build_daily_report(store, reports, day).await?);
            }
        }
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

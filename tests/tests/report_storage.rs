//! Both report stores held to one contract: the local folder (its links served by the local
//! gateway) and an S3 bucket on the moto server (presigned URLs). Put, get, info, overwrite,
//! listing newest first a page at a time, and a download link that fetches the bytes.

use switchboard_shared::reports::{ReportId, ReportStore, PDF_CONTENT_TYPE};
use switchboard_tests::{Backend, TestApi};
use time::macros::date;
use time::{Date, OffsetDateTime};

fn id(day: Date) -> ReportId {
    ReportId::daily(day)
}

async fn put(store: &dyn ReportStore, day: Date, bytes: &[u8]) {
    store.put(&id(day), bytes.to_vec(), PDF_CONTENT_TYPE).await.expect("put a report");
}

async fn a_stored_report_reads_back_with_its_size_and_a_missing_one_as_none(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let store = api.reports.as_ref();
    let before = OffsetDateTime::now_utc() - time::Duration::minutes(1);

    // Act
    put(store, date!(2026 - 01 - 05), b"%PDF-1.7 first").await;
    let bytes = store.get(&id(date!(2026 - 01 - 05))).await.expect("get");
    let info = store.info(&id(date!(2026 - 01 - 05))).await.expect("info");
    let missing = (
        store.get(&id(date!(2026 - 01 - 06))).await.expect("get"),
        store.info(&id(date!(2026 - 01 - 06))).await.expect("info"),
    );

    // Assert
    assert_eq!(bytes.as_deref(), Some(&b"%PDF-1.7 first"[..]));
    let info = info.expect("the report's info");
    assert_eq!((info.id, info.size_bytes), (id(date!(2026 - 01 - 05)), 14));
    assert!(info.created_at > before, "written at {}", info.created_at);
    assert_eq!(missing, (None, None));
}

async fn putting_a_report_again_replaces_it(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let store = api.reports.as_ref();
    put(store, date!(2026 - 01 - 05), b"%PDF-1.7 first version").await;

    // Act
    put(store, date!(2026 - 01 - 05), b"%PDF-1.7 second").await;

    // Assert
    let bytes = store.get(&id(date!(2026 - 01 - 05))).await.expect("get");
    assert_eq!(bytes.as_deref(), Some(&b"%PDF-1.7 second"[..]));
    let (listed, _) = store.list(10, None).await.expect("list");
    assert_eq!(
        listed.iter().map(|r| (r.id, r.size_bytes)).collect::<Vec<_>>(),
        [(id(date!(2026 - 01 - 05)), 15)]
    );
}

async fn reports_list_newest_first_a_page_at_a_time(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let store = api.reports.as_ref();
    let days = [
        date!(2025 - 12 - 31),
        date!(2026 - 01 - 02),
        date!(2026 - 01 - 01),
        date!(2026 - 01 - 04),
        date!(2026 - 01 - 03),
    ];
    for day in days {
        put(store, day, b"%PDF-1.7").await;
    }

    // Act
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = store.list(2, after).await.expect("list");
        pages.push(page.iter().map(|r| r.id.to_string()).collect::<Vec<_>>());
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }

    // Assert
    assert_eq!(
        pages,
        [
            vec!["daily-2026-01-04", "daily-2026-01-03"],
            vec!["daily-2026-01-02", "daily-2026-01-01"],
            vec!["daily-2025-12-31"],
        ]
    );
}

async fn an_empty_store_lists_nothing(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;

    // Act
    let (listed, next) = api.reports.list(10, None).await.expect("list");

    // Assert
    assert!(listed.is_empty() && next.is_none(), "{listed:?}");
}

async fn a_download_link_fetches_the_reports_bytes_as_a_pdf_attachment(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let store = api.reports.as_ref();
    put(store, date!(2026 - 01 - 05), b"%PDF-1.7 the report").await;
    let now = OffsetDateTime::now_utc();

    // Act
    let link = store.download_link(&id(date!(2026 - 01 - 05)), now).await.expect("a link");
    let response = reqwest::get(&link.url).await.expect("the link answers");

    // Assert
    assert_eq!(response.status(), 200, "{}", link.url);
    let header = |name: &str| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    assert_eq!(header("content-type"), PDF_CONTENT_TYPE);
    assert!(
        header("content-disposition").contains("switchboard-daily-2026-01-05.pdf"),
        "{}",
        header("content-disposition")
    );
    assert_eq!(response.bytes().await.expect("the body").as_ref(), b"%PDF-1.7 the report");
    assert_eq!(link.expires_at.unix_timestamp(), (now + time::Duration::minutes(15)).unix_timestamp());
}

switchboard_tests::on_both_backends!(
    a_stored_report_reads_back_with_its_size_and_a_missing_one_as_none,
    putting_a_report_again_replaces_it,
    reports_list_newest_first_a_page_at_a_time,
    an_empty_store_lists_nothing,
    a_download_link_fetches_the_reports_bytes_as_a_pdf_attachment,
);

//! The daily PDF report as people get it: rendered from a day's figures and read back with
//! `pdftotext`; built from a day's sessions by the daily run; listed and downloaded over HTTP
//! through the local gateway (reports in a folder with the gateway's signed links, or in a bucket
//! on the moto server with S3's presigned URLs), admins only.

use reqwest::Method;
use serde_json::Value;
use switchboard_shared::analytics::durations::DurationReport;
use switchboard_shared::analytics::messages::RoleCounts;
use switchboard_shared::analytics::pdf_reports::pdf::render;
use switchboard_shared::analytics::pdf_reports::{build_daily_report, build_daily_reports};
use switchboard_shared::analytics::rollup::{DayRollup, HourRollup};
use switchboard_shared::analytics::summaries::{AgentReport, CsatReport, MetricsReport, ResolutionReport};
use switchboard_shared::domain::UserId;
use switchboard_shared::reports::{ReportId, PDF_CONTENT_TYPE};
use switchboard_tests::{arranged, assigned_session, open_session, pdf_text, Backend, Caller, TestApi};
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};

fn durations(count: u64, average: f64, median: f64, p90: f64) -> DurationReport {
    DurationReport {
        count,
        average_seconds: Some(average),
        median_seconds: Some(median),
        p90_seconds: Some(p90),
    }
}

fn agent(id: &str, handled: u64, closed: u64) -> AgentReport {
    AgentReport {
        agent_id: UserId::parse(id).expect("an agent id"),
        handled,
        assigned: handled,
        transfers_in: 0,
        transfers_out: 0,
        first_responses: handled,
        first_response: durations(handled, 30.0, 30.0, 45.0),
        handle: DurationReport::none(),
        closed,
    }
}

/// A built day with known figures: every headline set, the agents' handle times unknown.
fn known_day(day: Date) -> DayRollup {
    let start = OffsetDateTime::new_utc(day, time::Time::MIDNIGHT);
    let hour = |h: i64, created: u64, closed: u64, customer: i64, agent: i64| HourRollup {
        hour: start + Duration::hours(h),
        sessions_created: created,
        sessions_closed: closed,
        first_response: DurationReport::none(),
        messages: RoleCounts { customer, agent, admin: 0 },
    };
    DayRollup {
        day,
        built_at: start + Duration::hours(24) + Duration::minutes(15),
        figures: MetricsReport {
            from: start,
            to: start + Duration::DAY,
            as_of: start + Duration::hours(24) + Duration::minutes(15),
            sessions_created: 12,
            sessions_reopened: 1,
            sessions_closed: 10,
            wait: durations(11, 42.5, 40.0, 90.0),
            abandoned: durations(1, 300.0, 300.0, 300.0),
            first_response: durations(5, 36.0, 35.0, 50.0),
            unanswered: 2,
            handle: durations(10, 620.25, 600.0, 1200.0),
            resolution: ResolutionReport { resolved: 4, reopened: 1, pending: 5, rate: Some(0.8) },
            csat: CsatReport {
                average: Some(4.25),
                distribution: [0, 1, 0, 1, 2],
                rated: 4,
                response_rate: Some(0.4),
            },
            transfers: 3,
            agents: vec![agent("agent-bob", 4, 3), agent("agent-cy", 6, 5)],
        },
        messages: RoleCounts { customer: 30, agent: 28, admin: 0 },
        hours: vec![hour(9, 7, 4, 20, 18), hour(14, 5, 6, 10, 10)],
    }
}

/// Whether `text` has a line that reads exactly `line`.
fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

/// Whether some line of `text` holds `words`.
fn mentions(text: &str, words: &str) -> bool {
    text.lines().any(|l| l.contains(words))
}

#[test]
fn a_daily_report_reads_back_with_its_day_figures_agents_and_hourly_charts() {
    // Arrange
    let day = known_day(date!(2026 - 01 - 05));

    // Act
    let pdf = render(&day);
    let text = pdf_text(&pdf);

    // Assert
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    assert!(has_line(&text, "Switchboard daily report \u{2014} 2026-01-05"), "{text}");
    for figures in [
        "Sessions created 12",
        "Sessions closed 10",
        "Sessions reopened 1",
        "First response average 36.0 s",
        "First response median 35.0 s",
        "First response p90 50.0 s",
        "Handle time average 620.2 s",
        "Handle time median 600.0 s",
        "Handle time p90 1200.0 s",
        "Wait average 42.5 s",
        "Resolution rate 80.0 %",
        "Resolved 4",
        "Reopened within 7 days 1",
        "Pending (under 7 days) 5",
        "CSAT average 4.25 / 5",
        "CSAT ratings 4",
        "CSAT response rate 40.0 %",
        "Scores 1 to 5 0/1/0/1/2",
        "Unanswered waits 2",
        "Transfers 3",
        "Messages from customers 30",
        "Messages from agents 28",
        "Messages from admins 0",
    ] {
        assert!(mentions(&text, figures), "{figures:?} is not in the report:\n{text}");
    }
    // Agents by sessions handled; an unknown median reads as a dash.
    let cy = text.lines().position(|l| l.starts_with("agent-cy 6 5 6 30.0 s \u{2014}"));
    let bob = text.lines().position(|l| l.starts_with("agent-bob 4 3 4 30.0 s \u{2014}"));
    assert!(cy.is_some() && bob.is_some() && cy < bob, "agents not listed by sessions handled:\n{text}");
    // The two charts: titles, hour labels under each, and bars drawn as filled rectangles.
    assert!(
        mentions(&text, "Sessions per hour (UTC)") && mentions(&text, "Messages per hour (UTC)"),
        "{text}"
    );
    let hours: String = (0..24).map(|h| format!("{h:02}")).collect::<Vec<_>>().join(" ");
    assert_eq!(text.lines().filter(|l| *l == hours).count(), 2, "hour labels missing:\n{text}");
    let raw = String::from_utf8_lossy(&pdf);
    assert!(raw.matches(" re\nf").count() >= 8, "the bars are not drawn as filled rectangles");
}

#[test]
fn a_day_without_ratings_or_replies_shows_dashes_for_what_cannot_be_measured() {
    // Arrange
    let mut day = known_day(date!(2026 - 01 - 06));
    day.figures.first_response = DurationReport::none();
    day.figures.csat = CsatReport { average: None, distribution: [0; 5], rated: 0, response_rate: None };
    day.figures.agents.clear();

    // Act
    let text = pdf_text(&render(&day));

    // Assert
    for figure in ["First response median \u{2014}", "CSAT average \u{2014}", "CSAT response rate \u{2014}"] {
        assert!(mentions(&text, figure), "{figure:?} is not in the report:\n{text}");
    }
    assert!(mentions(&text, "No agent handled a session this day."), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Over HTTP
// ---------------------------------------------------------------------------------------------

/// Stores the known day's report of `day`, as the daily run would.
async fn store_report(api: &TestApi, day: Date) -> ReportId {
    let id = ReportId::daily(day);
    api.reports.put(&id, render(&known_day(day)), PDF_CONTENT_TYPE).await.expect("store a report");
    id
}

/// `GET url` without credentials (a download link): status and bytes.
async fn fetch(url: &str) -> (u16, Vec<u8>) {
    let response = reqwest::get(url).await.expect("the link answers");
    let status = response.status().as_u16();
    (status, response.bytes().await.expect("read the download").to_vec())
}

/// The admin's download link of `id`.
async fn link(api: &TestApi, id: &str) -> Value {
    let reply = Caller::Admin.call(api, Method::GET, &format!("/admin/reports/{id}/download"), None).await;
    arranged(reply, 200, "an admin asks for a download link").body
}

fn ids(reply: &Value) -> Vec<&str> {
    reply["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["id"].as_str()).collect())
        .unwrap_or_default()
}

async fn the_daily_run_reports_a_days_sessions_once_the_day_is_over(backend: Backend) {
    // Arrange: today, one session handled and closed by agent X, another left waiting.
    let api = TestApi::start(backend).await;
    let assigned = assigned_session(&api).await;
    let close = format!("/chat/sessions/{}/close", assigned.session);
    arranged(Caller::AgentX.call(&api, Method::POST, &close, None).await, 200, "agent X closes it");
    open_session(&api, Caller::CustomerB, "a second question").await;
    let today = OffsetDateTime::now_utc().date();
    let after_midnight =
        OffsetDateTime::new_utc(today + Duration::days(1), time::Time::MIDNIGHT) + Duration::minutes(15);
    // The day's message counters follow from the change feed.
    api.settle().await;

    // Act: the run after midnight (the day's rollup is built first), then an admin downloads it.
    let built = build_daily_report(api.store.as_ref(), api.reports.as_ref(), today, after_midnight)
        .await
        .expect("the report is built");
    let listed = Caller::Admin.call(&api, Method::GET, "/admin/reports", None).await;
    let link = link(&api, &built.id.to_string()).await;
    let (status, pdf) = fetch(link["url"].as_str().expect("a url")).await;

    // Assert
    assert_eq!(ids(&listed.body), [built.id.to_string().as_str()], "{:?}", listed.body);
    assert_eq!(listed.body["items"][0]["size_bytes"], pdf.len(), "the listed size is the PDF's");
    assert_eq!(status, 200);
    assert!(pdf.starts_with(b"%PDF-"), "the link did not download a PDF");
    let text = pdf_text(&pdf);
    let day = switchboard_shared::reports::format_day(today);
    assert!(text.contains(&format!("Switchboard daily report \u{2014} {day}")), "{text}");
    for figures in
        ["Sessions created 2", "Sessions closed 1", "Messages from customers 1", "Messages from agents 1"]
    {
        assert!(mentions(&text, figures), "{figures:?} is not in the report:\n{text}");
    }
    assert!(text.lines().any(|l| l.starts_with("agent-xena 1 1 1 ")), "agent X is not listed:\n{text}");
}

async fn admins_list_reports_newest_first_a_page_at_a_time(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    for day in [date!(2026 - 01 - 03), date!(2026 - 01 - 05), date!(2026 - 01 - 04)] {
        store_report(&api, day).await;
    }

    // Act
    let first = Caller::Admin.call(&api, Method::GET, "/admin/reports?limit=2", None).await;
    let cursor = first.body["next_cursor"].as_str().unwrap_or_default().to_owned();
    let second =
        Caller::Admin.call(&api, Method::GET, &format!("/admin/reports?limit=2&cursor={cursor}"), None).await;

    // Assert
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(ids(&first.body), ["daily-2026-01-05", "daily-2026-01-04"]);
    let item = &first.body["items"][0];
    assert_eq!((item["day"].as_str(), item["kind"].as_str()), (Some("2026-01-05"), Some("daily")), "{item}");
    assert!(item["size_bytes"].as_u64().is_some_and(|n| n > 1000), "{item}");
    assert!(item["created_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{item}");
    assert_eq!(ids(&second.body), ["daily-2026-01-03"]);
    assert_eq!(second.body["next_cursor"], Value::Null);
}

async fn a_download_link_fetches_the_pdf_without_credentials_for_fifteen_minutes(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let id = store_report(&api, date!(2026 - 01 - 05)).await;
    let asked = OffsetDateTime::now_utc();

    // Act
    let link = link(&api, &id.to_string()).await;
    let (status, pdf) = fetch(link["url"].as_str().expect("a url")).await;

    // Assert
    assert_eq!(status, 200);
    assert!(mentions(&pdf_text(&pdf), "First response median 35.0 s"), "not the stored report");
    let expires = OffsetDateTime::parse(
        link["expires_at"].as_str().expect("expires_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("an RFC 3339 expiry");
    let lifetime = expires - asked;
    assert!(
        lifetime > Duration::minutes(14) && lifetime <= Duration::minutes(15) + Duration::seconds(1),
        "{lifetime}"
    );
}

async fn a_day_without_a_report_is_not_found_and_a_malformed_id_a_bad_request(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    store_report(&api, date!(2026 - 01 - 05)).await;

    // Act
    let missing =
        Caller::Admin.call(&api, Method::GET, "/admin/reports/daily-2026-01-06/download", None).await;
    let malformed = Caller::Admin.call(&api, Method::GET, "/admin/reports/2026-01-05/download", None).await;
    let impossible =
        Caller::Admin.call(&api, Method::GET, "/admin/reports/daily-2026-02-30/download", None).await;
    let bad_cursor = Caller::Admin.call(&api, Method::GET, "/admin/reports?cursor=garbled", None).await;

    // Assert
    assert_eq!((missing.status, missing.error_code()), (404, "report_not_found"));
    assert_eq!((malformed.status, malformed.error_code()), (400, "invalid_id"));
    assert_eq!((impossible.status, impossible.error_code()), (400, "invalid_id"));
    assert_eq!((bad_cursor.status, bad_cursor.error_code()), (400, "invalid_cursor"));
}

async fn only_admins_list_and_download_reports(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let id = store_report(&api, date!(2026 - 01 - 05)).await;
    let download = format!("/admin/reports/{id}/download");

    for path in ["/admin/reports", download.as_str()] {
        // Act
        let replies = [
            Caller::AgentX.call(&api, Method::GET, path, None).await,
            Caller::CustomerA.call(&api, Method::GET, path, None).await,
            api.call(Method::GET, path, None, None).await,
        ];

        // Assert
        let seen: Vec<(u16, &str)> = replies.iter().map(|r| (r.status, r.error_code())).collect();
        assert_eq!(seen, [(403, "forbidden"), (403, "forbidden"), (401, "unauthorized")], "{path}");
    }
}

/// The text of the stored report of `day`.
async fn stored_text(api: &TestApi, day: Date) -> String {
    let bytes = api.reports.get(&ReportId::daily(day)).await.expect("read the store").expect("a report");
    pdf_text(&bytes)
}

async fn a_days_report_is_built_again_with_final_figures_when_its_follow_up_window_is_over(backend: Backend) {
    // Arrange: today, a session handled and closed (its resolution pending for 7 days), reported
    // by the run after midnight.
    let api = TestApi::start(backend).await;
    let assigned = assigned_session(&api).await;
    let close = format!("/chat/sessions/{}/close", assigned.session);
    arranged(Caller::AgentX.call(&api, Method::POST, &close, None).await, 200, "agent X closes it");
    let today = OffsetDateTime::now_utc().date();
    let run_on = |days: i64| {
        let day = today + Duration::days(days);
        (day, OffsetDateTime::new_utc(day, time::Time::MIDNIGHT) + Duration::minutes(15))
    };
    let (first_day, first_at) = run_on(1);
    build_daily_reports(api.store.as_ref(), api.reports.as_ref(), first_day, first_at)
        .await
        .expect("the first report is built");
    let first = stored_text(&api, today).await;

    // Act: the scheduled runs 9 and 10 days after the day.
    let (settled_day, settled_at) = run_on(9);
    let settled = build_daily_reports(api.store.as_ref(), api.reports.as_ref(), settled_day, settled_at)
        .await
        .expect("the run 9 days later");
    let again = stored_text(&api, today).await;
    let (next_day, next_at) = run_on(10);
    let next = build_daily_reports(api.store.as_ref(), api.reports.as_ref(), next_day, next_at)
        .await
        .expect("the run 10 days later");

    // Assert
    assert!(mentions(&first, "Pending (under 7 days) 1"), "{first}");
    assert!(mentions(&first, "Resolved 0"), "{first}");
    assert_eq!(settled.first().map(|report| report.id), Some(ReportId::daily(today)), "oldest first");
    assert!(mentions(&again, "Pending (under 7 days) 0"), "{again}");
    assert!(mentions(&again, "Resolved 1"), "{again}");
    assert!(mentions(&again, "Resolution rate 100.0 %"), "{again}");
    assert!(!next.iter().any(|report| report.id == ReportId::daily(today)), "built once: {next:?}");
}

switchboard_tests::on_both_backends!(
    the_daily_run_reports_a_days_sessions_once_the_day_is_over,
    a_days_report_is_built_again_with_final_figures_when_its_follow_up_window_is_over,
    admins_list_reports_newest_first_a_page_at_a_time,
    a_download_link_fetches_the_pdf_without_credentials_for_fifteen_minutes,
    a_day_without_a_report_is_not_found_and_a_malformed_id_a_bad_request,
    only_admins_list_and_download_reports,
);

// ---------------------------------------------------------------------------------------------
// The local gateway's signed links
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_local_gateway_refuses_an_expired_or_changed_link() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let id = store_report(&api, date!(2026 - 01 - 05)).await;
    let expired = api
        .reports
        .download_link(&id, OffsetDateTime::now_utc() - Duration::minutes(16))
        .await
        .expect("a link");
    let fresh = link(&api, &id.to_string()).await["url"].as_str().expect("a url").to_owned();
    let (unsigned, _) = fresh.split_once("&signature=").expect("a signed link");
    let other_day = fresh.replace("2026-01-05", "2026-01-04");
    let later = {
        let expires =
            fresh.split("expires=").nth(1).and_then(|rest| rest.split('&').next()).expect("an expiry");
        fresh.replace(
            &format!("expires={expires}"),
            &format!("expires={}", expires.parse::<i64>().expect("a number") + 3600),
        )
    };

    // Act
    let refusals = [
        fetch(&expired.url).await.0,
        fetch(unsigned).await.0,
        fetch(&other_day).await.0,
        fetch(&later).await.0,
    ];
    let accepted = fetch(&fresh).await.0;

    // Assert
    assert_eq!(refusals, [403, 403, 403, 403]);
    assert_eq!(accepted, 200);
}

#[tokio::test]
async fn a_days_report_cannot_be_built_before_the_day_is_over() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let now = datetime!(2026-01-05 23:59 UTC);

    // Act
    let refused = build_daily_report(api.store.as_ref(), api.reports.as_ref(), now.date(), now).await;

    // Assert
    assert_eq!(refused.map(|_| ()).unwrap_err().code(), "day_not_over");
    assert_eq!(api.reports.info(&ReportId::daily(now.date())).await.expect("read the store"), None);
}

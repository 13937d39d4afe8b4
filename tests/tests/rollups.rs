//! The analytics rollup against hand-computed figures: a crafted event log (plain, transfer,
//! abandoned, reopened, across midnight, a late event after its day's first rollup), rolled up by
//! the scheduled run at chosen times, read back through the daily report (JSON and CSV), agent
//! performance and the stored day and hour items; reruns change nothing; a day whose run was cut
//! off is read live and rebuilt by the next run; the backfill; bad input. SQLite and DynamoDB.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, Ordering};

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::analytics::rollup;
use switchboard_shared::domain::{AuditEvent, LoggedKind, Role, SessionId, UserId};
use switchboard_shared::repo::{events, rollups, sessions};
use switchboard_shared::store::{ItemStore, Key, Query, TxOp};
use switchboard_tests::{on_both_backends, Backend, Caller, TestApi};
use time::macros::datetime;
use time::{Date, Duration, OffsetDateTime};

on_both_backends!(
    the_rollup_gives_the_hand_computed_figures_of_each_day_and_hour_and_restates_them,
    a_rerun_writes_the_same_items_and_a_cut_off_day_is_read_live_then_rebuilt,
    the_backfill_builds_a_range_and_reports_its_progress,
    bad_report_and_backfill_requests_get_their_4xx_and_write_nothing,
    an_old_event_of_a_kind_this_version_does_not_know_is_listed_as_stored_and_left_out_of_the_figures,
);

/// The crafted days.
const DAY_A: Date = time::macros::date!(2026 - 03 - 10);
const DAY_B: Date = time::macros::date!(2026 - 03 - 11);
const ROOM: &str = "01JD00000000000000000000R1";

static SEQUENCE: AtomicU16 = AtomicU16::new(0);

fn session(n: u8) -> SessionId {
    SessionId::parse(&format!("01JD00000000000000000000S{n}")).expect("a session id")
}

fn user(id: &str) -> UserId {
    UserId::parse(id).expect("a user id")
}

/// Writes one event with an id whose time is its `at`, as the API would have.
async fn event(api: &TestApi, n: u8, kind: &str, at: OffsetDateTime, actor: &str, details: Value) {
    let millis = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).expect("a time after 1970");
    let id = ulid::Ulid::from_parts(millis, u128::from(SEQUENCE.fetch_add(1, Ordering::SeqCst)));
    let role = match actor.split('-').next() {
        Some("agent") => Role::Agent,
        Some("admin") => Role::Admin,
        _ => Role::Customer,
    };
    let event = AuditEvent {
        id: id.to_string(),
        kind: LoggedKind::of_name(kind),
        actor_id: user(actor),
        actor_role: role,
        target: format!("session:{}", session(n)),
        session_id: Some(session(n)),
        at,
        details,
    };
    let write = events::put(&event, &sessions::partition(&session(n))).expect("an event item");
    api.store.transact_write(vec![write.named("event")]).await.expect("write an event");
}

/// An event another version wrote, of a kind this one does not know: stored as the log stores
/// events, past the log's writer (which writes only today's kinds).
async fn old_event(api: &TestApi, n: u8, kind: &str, at: OffsetDateTime) {
    let event = AuditEvent {
        id: ulid::Ulid::from_parts(u64::try_from(at.unix_timestamp() * 1000).expect("after 1970"), 1)
            .to_string(),
        kind: LoggedKind::of_name("session.queued"),
        actor_id: user("agent-alice"),
        actor_role: Role::Agent,
        target: format!("session:{}", session(n)),
        session_id: Some(session(n)),
        at,
        details: json!({"level": 2}),
    };
    let TxOp::Put { mut item, .. } = events::put(&event, &sessions::partition(&session(n))).expect("an item")
    else {
        panic!("an event is written by a put");
    };
    item.insert("kind".into(), json!(kind));
    api.store.put(item, None).await.expect("write the old event");
}

async fn created(api: &TestApi, n: u8, at: OffsetDateTime, room: Option<&str>) {
    let details = json!({"priority": "normal", "room_id": room, "subject": "help"});
    event(api, n, "session.created", at, "cust-ada", details).await;
    event(api, n, "session.queued", at, "cust-ada", json!({"reason": "created"})).await;
}

async fn assigned(api: &TestApi, n: u8, at: OffsetDateTime, agent: &str) {
    event(api, n, "session.assigned", at, "admin-zoe", json!({"agent_id": agent, "by": "routing"})).await;
}

async fn replied(api: &TestApi, n: u8, at: OffsetDateTime, agent: &str) {
    event(api, n, "session.first_response", at, agent, json!({"agent_id": agent, "message_id": "m"})).await;
}

async fn closed(api: &TestApi, n: u8, at: OffsetDateTime, was: &str) {
    event(api, n, "session.closed", at, "agent-bob", json!({"previous_status": was, "agent_id": null})).await;
}

async fn rated(api: &TestApi, n: u8, at: OffsetDateTime, score: u8) {
    let details = json!({"score": score, "comment": null, "previous_score": null});
    event(api, n, "session.rated", at, "cust-ada", details).await;
}

/// Day A's events, but for the late rating of session 1 (written after the first run).
///
/// | session | events (day A unless said) |
/// |---|---|
/// | 1 room R1 | created 09:00, alice 09:02, reply 09:05, closed 09:20; rated 5 at 23:59 (late) |
/// | 2 room R1 | created 10:00, alice 10:01, reply 10:03, → bob 10:10, closed 10:40, rated 3 11:00 |
/// | 3 | created 11:00, closed 11:15 while waiting (abandoned, unanswered) |
/// | 4 | created 12:00, bob 12:05, reply 12:06, closed 12:30; day B: reopened 09:00, alice 09:10, closed 09:40 unanswered |
/// | 5 | created 23:50, alice 23:55; day B: reply 00:05, closed 00:30 |
async fn day_a(api: &TestApi) {
    let a = |h: u8, m: u8| DAY_A.with_hms(h, m, 0).expect("a time").assume_utc();
    created(api, 1, a(9, 0), Some(ROOM)).await;
    assigned(api, 1, a(9, 2), "agent-alice").await;
    replied(api, 1, a(9, 5), "agent-alice").await;
    closed(api, 1, a(9, 20), "active").await;

    created(api, 2, a(10, 0), Some(ROOM)).await;
    assigned(api, 2, a(10, 1), "agent-alice").await;
    replied(api, 2, a(10, 3), "agent-alice").await;
    let transfer = json!({"from_agent_id": "agent-alice", "to_agent_id": "agent-bob", "reason": "billing"});
    event(api, 2, "session.transferred", a(10, 10), "agent-alice", transfer).await;
    closed(api, 2, a(10, 40), "active").await;
    rated(api, 2, a(11, 0), 3).await;

    created(api, 3, a(11, 0), None).await;
    closed(api, 3, a(11, 15), "waiting").await;

    created(api, 4, a(12, 0), None).await;
    assigned(api, 4, a(12, 5), "agent-bob").await;
    replied(api, 4, a(12, 6), "agent-bob").await;
    closed(api, 4, a(12, 30), "active").await;

    created(api, 5, a(23, 50), None).await;
    assigned(api, 5, a(23, 55), "agent-alice").await;
}

/// The late rating of session 1 (at 23:59 of day A), and day B's events.
async fn late_event_and_day_b(api: &TestApi) {
    rated(api, 1, DAY_A.with_hms(23, 59, 0).expect("a time").assume_utc(), 5).await;
    let b = |h: u8, m: u8| DAY_B.with_hms(h, m, 0).expect("a time").assume_utc();
    replied(api, 5, b(0, 5), "agent-alice").await;
    closed(api, 5, b(0, 30), "active").await;
    event(api, 4, "session.reopened", b(9, 0), "cust-ada", json!({"previous_agent_id": "agent-bob"})).await;
    event(api, 4, "session.queued", b(9, 0), "cust-ada", json!({"reason": "reopened"})).await;
    assigned(api, 4, b(9, 10), "agent-alice").await;
    closed(api, 4, b(9, 40), "active").await;
}

fn text(day: Date) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day())
}

async fn daily(api: &TestApi, from: Date, to: Date) -> Value {
    let path = format!("/admin/reports/daily?from={}&to={}", text(from), text(to));
    let reply = Caller::Admin.call(api, Method::GET, &path, None).await;
    assert_eq!(reply.status, 200, "daily report: {reply:?}");
    reply.body
}

/// `[count, average, median, p90]` of a duration report.
fn durations(report: &Value) -> Value {
    json!([report["count"], report["average_seconds"], report["median_seconds"], report["p90_seconds"]])
}

async fn the_rollup_gives_the_hand_computed_figures_of_each_day_and_hour_and_restates_them(backend: Backend) {
    // Arrange: day A without its late event, rolled up just after midnight.
    let api = TestApi::start(backend).await;
    day_a(&api).await;
    let first = rollup::run(api.store.as_ref(), datetime!(2026-03-11 00:10 UTC)).await.expect("first run");
    assert!(first.days.contains(&(text(DAY_A), rollup::BuildReason::Open)), "{:?}", first.days);

    // Assert: day A as of the first run.
    let report = daily(&api, DAY_A, DAY_A).await;
    let a = &report["days"][0];
    assert_eq!(a["source"], "rollup");
    let f = &a["figures"];
    assert_eq!((f["sessions_created"].clone(), f["sessions_closed"].clone()), (json!(5), json!(4)));
    assert_eq!(durations(&f["wait"]), json!([4, 195.0, 120.0, 300.0]));
    assert_eq!(durations(&f["abandoned"]), json!([1, 900.0, 900.0, 900.0]));
    assert_eq!(durations(&f["first_response"]), json!([3, 280.0, 300.0, 360.0]));
    assert_eq!(f["unanswered"], 1);
    assert_eq!(durations(&f["handle"]), json!([3, 1640.0, 1500.0, 2340.0]));
    assert_eq!(f["transfers"], 1);
    assert_eq!(
        f["csat"],
        json!({"average": 3.0, "distribution": [0, 0, 1, 0, 0], "rated": 1, "response_rate": 0.25})
    );
    assert_eq!(f["resolution"], json!({"resolved": 0, "reopened": 0, "pending": 4, "rate": null}));

    // Act: the late rating and day B arrive; the next day's run restates day A.
    late_event_and_day_b(&api).await;
    let second = rollup::run(api.store.as_ref(), datetime!(2026-03-12 10:00 UTC)).await.expect("second run");
    assert!(second.days.contains(&(text(DAY_A), rollup::BuildReason::Open)), "{:?}", second.days);

    // Assert: the late rating counts on day A (its close's day), the reopen refutes its close.
    let report = daily(&api, DAY_A, DAY_B).await;
    let f = &report["days"][0]["figures"];
    assert_eq!(
        f["csat"],
        json!({"average": 4.0, "distribution": [0, 0, 1, 0, 1], "rated": 2, "response_rate": 0.5})
    );
    assert_eq!(f["resolution"], json!({"resolved": 0, "reopened": 1, "pending": 3, "rate": 0.0}));
    let b = &report["days"][1]["figures"];
    assert_eq!((b["sessions_created"].clone(), b["sessions_reopened"].clone()), (json!(0), json!(1)));
    assert_eq!(durations(&b["wait"]), json!([1, 600.0, 600.0, 600.0]));
    assert_eq!(durations(&b["first_response"]), json!([1, 900.0, 900.0, 900.0]));
    assert_eq!(b["unanswered"], 1);
    assert_eq!(durations(&b["handle"]), json!([2, 1950.0, 1800.0, 2100.0]));
    let total = &report["total"]["figures"];
    assert_eq!(durations(&total["first_response"]), json!([4, 435.0, 300.0, 900.0]));
    assert_eq!(durations(&total["handle"]), json!([5, 1764.0, 1800.0, 2340.0]));

    // Per agent over both days, from the rollups.
    let path = format!("/admin/chat-dashboard/agent-performance?from={}&to={}", text(DAY_A), text(DAY_B));
    let reply = Caller::Admin.call(&api, Method::GET, &path, None).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["sessions_read"], 0, "whole past days are read from the rollups");
    let agents: BTreeMap<String, Value> = reply.body["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|a| (a["agent_id"].as_str().unwrap_or_default().to_owned(), a.clone()))
        .collect();
    let alice = &agents["agent-alice"];
    assert_eq!(
        (alice["assigned"].clone(), alice["transfers_out"].clone(), alice["closed"].clone()),
        (json!(4), json!(1), json!(3))
    );
    assert_eq!(durations(&alice["first_response"]), json!([3, 460.0, 300.0, 900.0]));
    assert_eq!(durations(&alice["handle"]), json!([4, 1380.0, 1080.0, 2100.0]));
    let bob = &agents["agent-bob"];
    assert_eq!(
        (bob["handled"].clone(), bob["transfers_in"].clone(), bob["closed"].clone()),
        (json!(2), json!(1), json!(2))
    );
    assert_eq!(durations(&bob["handle"]), json!([2, 1650.0, 1500.0, 1800.0]));

    // The hours of day A and its room.
    let day = rollup::day(api.store.as_ref(), DAY_A).await.expect("read day A").expect("day A is built");
    assert_eq!(day.hours.len(), 24);
    let hour = |h: usize| &day.hours[h];
    assert_eq!((hour(9).sessions_created, hour(9).sessions_closed, hour(9).first_response.count), (1, 1, 1));
    assert_eq!((hour(10).sessions_created, hour(10).sessions_closed), (1, 1));
    assert_eq!((hour(23).sessions_created, hour(23).sessions_closed), (1, 0));
    assert_eq!((hour(13).sessions_created, hour(13).sessions_closed), (0, 0));
    let hours: BTreeMap<u8, _> =
        rollups::overall_hours(api.store.as_ref(), DAY_A).await.expect("hour items").into_iter().collect();
    let ten = &hours[&10].agents;
    let (alice, bob) = (&ten[&user("agent-alice")], &ten[&user("agent-bob")]);
    assert_eq!((alice.assigned, alice.transfers_out, bob.transfers_in, bob.closed), (1, 1, 1, 1));
    assert_eq!(bob.held.samples_ms, vec![1_800_000], "bob held the 10:00 session from 10:10 to 10:40");
    let rooms = rollups::room_days(api.store.as_ref(), DAY_A, DAY_A).await.expect("room days");
    let room = rooms.iter().find(|r| r.room_id == ROOM).expect("room R1 has figures");
    assert_eq!(
        (room.summary.created, room.summary.closed, room.summary.handle.samples_ms.clone()),
        (2, 2, vec![1_080_000, 2_340_000])
    );

    // Act: nine days later day A is final: its pending closes are resolved.
    let later = rollup::run(api.store.as_ref(), datetime!(2026-03-19 01:00 UTC)).await.expect("settling run");
    assert!(later.days.contains(&(text(DAY_A), rollup::BuildReason::Settled)), "{:?}", later.days);
    let f = &daily(&api, DAY_A, DAY_A).await["days"][0]["figures"];
    assert_eq!(f["resolution"], json!({"resolved": 3, "reopened": 1, "pending": 0, "rate": 0.75}));
}

/// Every rollup item, by key.
async fn rollup_items(api: &TestApi) -> BTreeMap<(String, String), Value> {
    let mut items = BTreeMap::new();
    for partition in [rollups::ALL, rollups::AGENTS, rollups::ROOMS, rollups::BUILT] {
        let mut cursor = None;
        loop {
            let page = api
                .store
                .query(Query::table(partition).limit(1000).cursor(cursor))
                .await
                .expect("read rollup items");
            for item in page.items {
                let key = |name: &str| item.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
                items.insert((key("pk"), key("sk")), Value::Object(item.clone()));
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    items
}

/// Every item of `before` is in `after`, unchanged; the others of `after` are markers of empty
/// days (each run also fills up to 31 older days never built).
fn same_items(before: &BTreeMap<(String, String), Value>, after: &BTreeMap<(String, String), Value>) {
    for (key, item) in before {
        assert_eq!(after.get(key), Some(item), "the rerun changed or dropped {key:?}");
    }
    for (key, item) in after.iter().filter(|(key, _)| !before.contains_key(*key)) {
        let empty_marker = key.0 == rollups::BUILT && item["events"] == 0;
        let empty_day =
            key.0 == rollups::ALL && item["summary"]["created"] == 0 && item["summary"]["closed"] == 0;
        assert!(empty_marker || empty_day, "the rerun added {key:?}: {item}");
    }
}

async fn a_rerun_writes_the_same_items_and_a_cut_off_day_is_read_live_then_rebuilt(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    day_a(&api).await;
    late_event_and_day_b(&api).await;
    let at = datetime!(2026-03-12 10:00 UTC);
    rollup::run(api.store.as_ref(), at).await.expect("first run");
    let once = rollup_items(&api).await;

    // Act
    rollup::run(api.store.as_ref(), at).await.expect("the same run again");

    // Assert
    same_items(&once, &rollup_items(&api).await);
    assert!(once.keys().any(|(pk, sk)| pk == rollups::ALL && sk == &rollups::hour_sk(DAY_A, 23)));

    // Arrange: a run cut off before day A's marker.
    let performance =
        format!("/admin/chat-dashboard/agent-performance?from={}&to={}", text(DAY_A), text(DAY_B));
    let from_rollups = Caller::Admin.call(&api, Method::GET, &performance, None).await;
    assert_eq!(from_rollups.body["sessions_read"], 0);
    let built = rollups::built(api.store.as_ref(), DAY_A, DAY_A).await.expect("markers");
    assert_eq!(built.len(), 1);
    api.store.delete(&Key::new(rollups::BUILT, text(DAY_A)), None).await.expect("drop the marker");
    let rebuilt = daily(&api, DAY_A, DAY_A).await;

    // Assert: read live, with the same figures as the rollup (as of now, so all resolved).
    assert_eq!(rebuilt["days"][0]["source"], "live");
    assert_eq!(durations(&rebuilt["days"][0]["figures"]["handle"]), json!([3, 1640.0, 1500.0, 2340.0]));
    let mixed = Caller::Admin.call(&api, Method::GET, &performance, None).await;
    assert_eq!(mixed.body["sessions_read"], 5, "day A is read from the event log");
    assert_eq!(mixed.body["agents"], from_rollups.body["agents"], "day A's agent items were counted too");

    // Act: the next run builds the day again.
    rollup::run(api.store.as_ref(), at).await.expect("the next run");

    // Assert
    same_items(&once, &rollup_items(&api).await);
    assert_eq!(daily(&api, DAY_A, DAY_A).await["days"][0]["source"], "rollup");
}

async fn the_backfill_builds_a_range_and_reports_its_progress(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    day_a(&api).await;
    late_event_and_day_b(&api).await;
    let body = json!({"from": text(DAY_A - Duration::DAY), "to": text(DAY_B)});

    // Act
    let started =
        Caller::Admin.call(&api, Method::POST, "/admin/analytics/backfill", Some(body.clone())).await;

    // Assert: three days built within the request, as of now: every close of day A is decided.
    assert_eq!(started.status, 201, "{started:?}");
    assert_eq!(
        (
            started.body["status"].clone(),
            started.body["days_done"].clone(),
            started.body["days_total"].clone()
        ),
        (json!("done"), json!(3), json!(3))
    );
    assert!(started.body["events_read"].as_u64().is_some_and(|n| n >= 30), "{}", started.body);
    let id = started.body["id"].as_str().expect("a job id");
    let polled =
        Caller::Admin.call(&api, Method::GET, &format!("/admin/analytics/backfill/{id}"), None).await;
    assert_eq!((polled.status, polled.body["status"].clone()), (200, json!("done")));
    let f = &daily(&api, DAY_A, DAY_A).await["days"][0];
    assert_eq!(f["source"], "rollup");
    assert_eq!(f["figures"]["resolution"], json!({"resolved": 3, "reopened": 1, "pending": 0, "rate": 0.75}));

    // The CSV of the same days, read back with a CSV reader.
    let path = format!("/admin/reports/daily?from={}&to={}&format=csv", text(DAY_A), text(DAY_B));
    let fetched = api.fetch(&path, &Caller::Admin.token(&api)).await;
    assert_eq!(fetched.status, 200);
    assert!(fetched.content_type.starts_with("text/csv"), "{}", fetched.content_type);
    assert!(fetched.disposition.contains("daily-2026-03-10-2026-03-11.csv"), "{}", fetched.disposition);
    let mut reader = csv::Reader::from_reader(fetched.text.as_bytes());
    let headers = reader.headers().expect("a header").clone();
    let rows: Vec<BTreeMap<String, String>> = reader
        .records()
        .map(|row| {
            let row = row.expect("a CSV row");
            headers.iter().zip(row.iter()).map(|(h, v)| (h.to_owned(), v.to_owned())).collect()
        })
        .collect();
    assert_eq!(
        rows.iter().map(|r| r["day"].as_str()).collect::<Vec<_>>(),
        ["2026-03-10", "2026-03-11", "total"]
    );
    assert_eq!(rows[0]["first_response_median_seconds"], "300");
    assert_eq!(rows[0]["csat_average"], "4");
    assert_eq!(rows[0]["resolution_rate"], "0.75");
    assert_eq!(rows[1]["sessions_reopened"], "1");
    assert_eq!(rows[1]["wait_average_seconds"], "600");
    assert_eq!(rows[2]["first_response_p90_seconds"], "900");
    assert_eq!(rows[2]["handle_count"], "5");

    // The same range again while nothing runs: a new job, done again.
    let again = Caller::Admin.call(&api, Method::POST, "/admin/analytics/backfill", Some(body)).await;
    assert_eq!((again.status, again.body["status"].clone()), (201, json!("done")));
}

async fn bad_report_and_backfill_requests_get_their_4xx_and_write_nothing(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let today = time::OffsetDateTime::now_utc().date();
    let tomorrow = text(today + Duration::DAY);
    let long_ago = text(today - Duration::days(366));
    let cases: Vec<(Method, String, Option<Value>, u16, &str)> = vec![
        (
            Method::GET,
            "/admin/reports/daily?from=2026-03-12&to=2026-03-10".into(),
            None,
            400,
            "invalid_range",
        ),
        (Method::GET, format!("/admin/reports/daily?to={tomorrow}"), None, 400, "invalid_range"),
        (
            Method::GET,
            format!("/admin/reports/daily?from={long_ago}&to={}", text(today)),
            None,
            400,
            "range_too_long",
        ),
        (Method::GET, "/admin/reports/daily?from=2026-02-30".into(), None, 400, "invalid_parameter"),
        (Method::GET, "/admin/reports/daily?from=yesterday".into(), None, 400, "invalid_parameter"),
        (Method::GET, "/admin/reports/daily?format=xml".into(), None, 400, "invalid_parameter"),
        (
            Method::GET,
            "/admin/reports/daily?from=2026-01-01&to=2026-03-01".into(),
            None,
            409,
            "rollup_not_built",
        ),
        (
            Method::GET,
            "/admin/chat-dashboard/agent-performance?from=2026-01-01&to=2026-03-01".into(),
            None,
            409,
            "rollup_not_built",
        ),
        (
            Method::GET,
            "/admin/chat-dashboard/satisfaction?from=2025-01-01&to=2026-03-01".into(),
            None,
            400,
            "range_too_long",
        ),
        (
            Method::POST,
            "/admin/analytics/backfill".into(),
            Some(json!({"from": "2026-03-12", "to": "2026-03-10"})),
            400,
            "invalid_range",
        ),
        (
            Method::POST,
            "/admin/analytics/backfill".into(),
            Some(json!({"from": text(today), "to": tomorrow})),
            400,
            "invalid_range",
        ),
        (
            Method::POST,
            "/admin/analytics/backfill".into(),
            Some(json!({"from": long_ago, "to": text(today)})),
            400,
            "range_too_long",
        ),
        (
            Method::POST,
            "/admin/analytics/backfill".into(),
            Some(json!({"from": "10/03/2026", "to": "2026-03-10"})),
            400,
            "invalid_parameter",
        ),
        (
            Method::POST,
            "/admin/analytics/backfill".into(),
            Some(json!({"from": "2026-03-10"})),
            422,
            "validation_failed",
        ),
        (
            Method::POST,
            "/admin/analytics/backfill".into(),
            Some(json!({"from": "2026-03-10", "to": "2026-03-10", "force": true})),
            422,
            "validation_failed",
        ),
        (Method::GET, "/admin/analytics/backfill/not-a-job".into(), None, 400, "invalid_id"),
        (
            Method::GET,
            "/admin/analytics/backfill/01JD00000000000000000000ZZ".into(),
            None,
            404,
            "backfill_not_found",
        ),
    ];
    let before = rollup_items(&api).await;

    // Act
    let mut wrong = Vec::new();
    for (method, path, body, status, code) in cases {
        let reply = Caller::Admin.call(&api, method.clone(), &path, body.clone()).await;
        if reply.status != status || reply.error_code() != code || !reply.body["error"]["message"].is_string()
        {
            wrong.push(format!(
                "{method} {path} {body:?}: expected {status} {code}, got {} {}",
                reply.status, reply.body
            ));
        }
    }

    // Assert
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(rollup_items(&api).await, before, "a refused request wrote rollup items");
    let jobs = api.store.query(Query::table(rollups::BACKFILL).limit(10)).await.expect("jobs");
    assert!(jobs.items.is_empty(), "a refused backfill left a job");
}

async fn an_old_event_of_a_kind_this_version_does_not_know_is_listed_as_stored_and_left_out_of_the_figures(
    backend: Backend,
) {
    // Arrange: a plain session of day A with an event of an unknown kind in its history.
    let api = TestApi::start(backend).await;
    let a = |h: u8, m: u8| DAY_A.with_hms(h, m, 0).expect("a time").assume_utc();
    created(&api, 6, a(9, 0), None).await;
    assigned(&api, 6, a(9, 2), "agent-alice").await;
    old_event(&api, 6, "session.escalated", a(9, 5)).await;
    closed(&api, 6, a(9, 20), "active").await;

    // Act
    let path = format!("/admin/audit-log?session_id={}&from={}&to={}", session(6), text(DAY_A), text(DAY_A));
    let log = Caller::Admin.call(&api, Method::GET, &path, None).await;
    let report = daily(&api, DAY_A, DAY_A).await;

    // Assert: the audit log shows the event as stored; the figures are the plain session's.
    assert_eq!(log.status, 200, "{log:?}");
    let kinds: Vec<&str> =
        log.body["items"].as_array().expect("items").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"session.escalated"), "{kinds:?}");
    let figures = &report["days"][0]["figures"];
    assert_eq!(
        (&figures["sessions_created"], &figures["sessions_closed"]),
        (&json!(1), &json!(1)),
        "{figures}"
    );
    assert_eq!(durations(&figures["handle"]), json!([1, 1080.0, 1080.0, 1080.0]), "{figures}");
    // And the log's writer refuses to write such a kind again.
    let unknown = AuditEvent {
        id: ulid::Ulid::new().to_string(),
        kind: LoggedKind::of_name("session.escalated"),
        actor_id: user("agent-alice"),
        actor_role: Role::Agent,
        target: format!("session:{}", session(6)),
        session_id: Some(session(6)),
        at: a(9, 6),
        details: json!({}),
    };
    assert!(events::put(&unknown, &sessions::partition(&session(6))).is_err(), "an unknown kind was written");
}

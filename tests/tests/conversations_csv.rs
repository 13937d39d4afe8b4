//! The conversations CSV over real HTTP, on SQLite and on DynamoDB (moto): read back with a CSV
//! reader, one row per session created in the range with the figures its history gives (times
//! from the API's replies), messages counted by role, customer text defused, rows in order across
//! pages and written page by page, and every refusal a JSON error with nothing read.

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::analytics::conversations::{self, COLUMNS};
use switchboard_shared::auth::TokenMinter;
use switchboard_shared::domain::{AuditEvent, EventKind, Priority, Role, Session, SessionId, UserId};
use switchboard_shared::store::{Item, ItemStore};
use switchboard_tests::{
    arranged, on_duty, Backend, Caller, Fetched, Reply, TestApi, AUDIENCE, ISSUER, TEST_SECRET,
};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

switchboard_tests::on_both_backends!(
    each_session_is_one_row_with_the_figures_of_its_history,
    only_sessions_created_inside_the_range_are_exported,
    rows_stay_in_order_when_the_day_is_read_in_many_pages,
    rows_are_written_while_later_pages_are_still_unread,
    rows_are_in_creation_order_even_where_the_day_index_is_not,
    only_admins_export_and_bad_ranges_are_refused_before_anything_is_read,
);

const EXPORT: &str = "/admin/reports/conversations.csv";
const DASHBOARD: &str = "/admin/chat-dashboard";
/// Customer A's display name, as their token carries it: a spreadsheet would run it.
const TRICKY_NAME: &str = "-Ann, \"the\" customer";
/// The subject of customer A's session: a formula, a comma, quotes and a second line.
const TRICKY_SUBJECT: &str = "=SUM(A1:A3), \"urgent\"\nsecond line";

// ---------------------------------------------------------------------------------------------
// Arranging and reading
// ---------------------------------------------------------------------------------------------

/// A time from a reply.
fn at(value: &Value) -> OffsetDateTime {
    let text = value.as_str().unwrap_or_else(|| panic!("a time, got {value}"));
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{text} is not RFC 3339: {e}"))
}

/// A time as a query parameter (RFC 3339, milliseconds).
fn param(at: OffsetDateTime) -> String {
    switchboard_shared::domain::timestamp::format(at).expect("a time formats")
}

/// Seconds from `from` to `to`, to the millisecond, as the export writes them.
fn seconds(from: OffsetDateTime, to: OffsetDateTime) -> String {
    ((to - from).whole_milliseconds() as f64 / 1000.0).to_string()
}

/// A request as `user` in `role` whose token carries `name`.
async fn as_named(
    api: &TestApi,
    user: &str,
    role: Role,
    name: &str,
    method: Method,
    path: &str,
    body: Value,
) -> Reply {
    let token = TokenMinter::hs256(TEST_SECRET.as_bytes(), ISSUER, AUDIENCE)
        .mint(user, role, Some(name), 600)
        .expect("mint a token");
    api.call(method, path, Some(&token), Some(body)).await
}

/// `customer` opens a session; returns the reply's session.
async fn open(api: &TestApi, customer: &str, subject: &str, priority: &str) -> Value {
    let body = json!({"subject": subject, "priority": switchboard_tests::customer_priority(priority)});
    let reply = as_named(api, customer, Role::Customer, customer, Method::POST, "/chat/sessions", body).await;
    let opened = arranged(reply, 201, "a customer opens a session").body;
    if priority == "urgent" {
        return switchboard_tests::raise_to_urgent(api, &opened).await;
    }
    opened
}

/// `caller` (a user in a role) posts to `path`; returns the reply's body.
async fn post(api: &TestApi, caller: (&str, Role), path: &str, body: Option<Value>, status: u16) -> Value {
    arranged(api.as_user(caller.0, caller.1, Method::POST, path, body).await, status, path).body
}

/// `sender` writes `text` in `session`; returns the message.
async fn say(api: &TestApi, sender: (&str, Role), session: &str, text: &str) -> Value {
    post(api, sender, "/chat/messages", Some(json!({"session_id": session, "body": text})), 201).await
}

fn id(session: &Value) -> String {
    session["id"].as_str().unwrap_or_else(|| panic!("a session with an id: {session}")).to_owned()
}

fn agent_x() -> (&'static str, Role) {
    (Caller::AgentX.id(), Role::Agent)
}

fn agent_y() -> (&'static str, Role) {
    (Caller::AgentY.id(), Role::Agent)
}

/// The export of `[from, to)` as the admin downloads it.
async fn export(api: &TestApi, query: &str) -> Fetched {
    api.fetch(&format!("{EXPORT}?{query}"), &Caller::Admin.token(api)).await
}

/// A download read back with a CSV reader: the header and the rows.
fn parse(fetched: &Fetched) -> (Vec<String>, Vec<csv::StringRecord>) {
    assert_eq!(fetched.status, 200, "{fetched:?}");
    let mut reader = csv::Reader::from_reader(fetched.text.as_bytes());
    let header = reader.headers().expect("a header row").iter().map(str::to_owned).collect();
    let rows = reader.records().map(|row| row.expect("a well-formed row")).collect();
    (header, rows)
}

/// A row as column name → value.
fn named(row: &csv::StringRecord) -> std::collections::BTreeMap<&'static str, String> {
    assert_eq!(row.len(), COLUMNS.len(), "{row:?}");
    COLUMNS.iter().copied().zip(row.iter().map(str::to_owned)).collect()
}

fn column<'a>(rows: &'a [csv::StringRecord], name: &str) -> Vec<&'a str> {
    let index = COLUMNS.iter().position(|c| *c == name).expect("a column");
    rows.iter().map(|row| row.get(index).unwrap_or_default()).collect()
}

// ---------------------------------------------------------------------------------------------
// The rows
// ---------------------------------------------------------------------------------------------

async fn each_session_is_one_row_with_the_figures_of_its_history(backend: Backend) {
    // Arrange: four sessions —
    //   reopened: X takes it, answers, hands it to Y, Y answers and closes, A rates 4, A reopens;
    //   resolved: Y takes it, answers and closes, B rates 5;
    //   unanswered: cust-cat writes and gives up (closes it while it waits);
    //   open: X takes it, cust-dan writes, nobody answers yet.
    let api = TestApi::start(backend).await;
    on_duty(&api, Caller::AgentX.id()).await;
    on_duty(&api, Caller::AgentY.id()).await;
    let customer_a = (Caller::CustomerA.id(), Role::Customer);
    let customer_b = (Caller::CustomerB.id(), Role::Customer);
    let opened = as_named(
        &api,
        customer_a.0,
        Role::Customer,
        TRICKY_NAME,
        Method::POST,
        "/chat/sessions",
        json!({"subject": TRICKY_SUBJECT, "priority": "high"}),
    )
    .await;
    let reopened = arranged(opened, 201, "A opens a session").body;
    let resolved = open(&api, customer_b.0, "refund", "normal").await;
    let unanswered = open(&api, "cust-cat", "hello?", "low").await;
    let still_open = open(&api, "cust-dan", "login broken", "urgent").await;
    let (s1, s2, s3, s4) = (id(&reopened), id(&resolved), id(&unanswered), id(&still_open));

    let take = |session: &str| format!("{DASHBOARD}/sessions/{session}/assign");
    let s1_assigned = at(&post(&api, agent_x(), &take(&s1), Some(json!({})), 200).await["assigned_at"]);
    say(&api, customer_a, &s1, "I paid twice, see \"order 12\", please").await;
    say(&api, customer_a, &s1, "=HYPERLINK(\"http://x\")\nthanks").await;
    let s1_answered = at(&say(&api, agent_x(), &s1, "Looking into it, one moment").await["created_at"]);
    let transfer = json!({"to_agent_id": Caller::AgentY.id(), "reason": "billing"});
    post(&api, agent_x(), &format!("{DASHBOARD}/sessions/{s1}/transfer"), Some(transfer), 200).await;
    say(&api, agent_y(), &s1, "Refunded.").await;
    let s1_closed =
        at(&post(&api, agent_y(), &format!("/chat/sessions/{s1}/close"), None, 200).await["closed_at"]);
    post(&api, customer_a, &format!("/chat/sessions/{s1}/rating"), Some(json!({"score": 4})), 201).await;
    post(&api, customer_a, &format!("/chat/sessions/{s1}/reopen"), None, 200).await;

    let s2_assigned = at(&post(&api, agent_y(), &take(&s2), Some(json!({})), 200).await["assigned_at"]);
    say(&api, customer_b, &s2, "where is my refund").await;
    let s2_answered = at(&say(&api, agent_y(), &s2, "Sent today").await["created_at"]);
    let s2_closed =
        at(&post(&api, agent_y(), &format!("/chat/sessions/{s2}/close"), None, 200).await["closed_at"]);
    post(&api, customer_b, &format!("/chat/sessions/{s2}/rating"), Some(json!({"score": 5})), 201).await;

    say(&api, ("cust-cat", Role::Customer), &s3, "anyone?").await;
    let s3_closed =
        at(&post(&api, ("cust-cat", Role::Customer), &format!("/chat/sessions/{s3}/close"), None, 200).await
            ["closed_at"]);

    let s4_assigned = at(&post(&api, agent_x(), &take(&s4), Some(json!({})), 200).await["assigned_at"]);
    say(&api, ("cust-dan", Role::Customer), &s4, "still broken").await;

    let from = at(&reopened["created_at"]);
    let to = OffsetDateTime::now_utc() + Duration::minutes(1);

    // Act
    let fetched = export(&api, &format!("from={}&to={}", param(from), param(to))).await;

    // Assert: a download of one row per session, in the order they were created.
    assert!(fetched.content_type.starts_with("text/csv; charset=utf-8"), "{}", fetched.content_type);
    assert!(
        fetched.disposition.starts_with("attachment; filename=\"conversations-")
            && fetched.disposition.ends_with(".csv\""),
        "{}",
        fetched.disposition
    );
    let (header, rows) = parse(&fetched);
    assert_eq!(header, COLUMNS);
    let mut expected_order = [&reopened, &resolved, &unanswered, &still_open]
        .map(|session| (at(&session["created_at"]), id(session)));
    expected_order.sort();
    let order: Vec<String> = expected_order.into_iter().map(|(_, id)| id).collect();
    assert_eq!(column(&rows, "session_id"), order, "one row each, by created_at then id");
    let row_of = |session: &str| {
        named(
            rows.iter()
                .find(|row| row.get(0) == Some(session))
                .unwrap_or_else(|| panic!("a row for {session}")),
        )
    };

    // The reopened session: its first answer, handle time and agents, its latest close's verdict
    // and rating, and the customer's text defused.
    let r1 = row_of(&s1);
    let expected_s1 = [
        ("customer_id", Caller::CustomerA.id().to_owned()),
        ("customer_name", format!("'{TRICKY_NAME}")),
        ("subject", format!("'{TRICKY_SUBJECT}")),
        ("agents", format!("{} {}", Caller::AgentX.id(), Caller::AgentY.id())),
        ("room_id", String::new()),
        ("priority", "high".to_owned()),
        ("status", "waiting".to_owned()),
        ("created_at", reopened["created_at"].as_str().unwrap_or_default().to_owned()),
        ("first_assigned_at", param(s1_assigned)),
        ("first_response_seconds", seconds(from, s1_answered)),
        ("handle_seconds", seconds(s1_assigned, s1_closed)),
        ("closed_at", param(s1_closed)),
        ("resolution", "reopened".to_owned()),
        ("csat_score", "4".to_owned()),
        ("reopen_count", "1".to_owned()),
        ("transfer_count", "1".to_owned()),
        ("messages_customer", "2".to_owned()),
        ("messages_agent", "2".to_owned()),
        ("messages_admin", "0".to_owned()),
    ];
    for (name, value) in &expected_s1 {
        assert_eq!(&r1[name], value, "the reopened session's {name}: {r1:?}");
    }

    // The resolved one: closed within the week, so its verdict is still pending.
    let r2 = row_of(&s2);
    let s2_created = at(&resolved["created_at"]);
    assert_eq!(r2["agents"], Caller::AgentY.id());
    assert_eq!(r2["first_response_seconds"], seconds(s2_created, s2_answered));
    assert_eq!(r2["handle_seconds"], seconds(s2_assigned, s2_closed));
    assert_eq!((r2["closed_at"].as_str(), r2["resolution"].as_str()), (param(s2_closed).as_str(), "pending"));
    assert_eq!((r2["csat_score"].as_str(), r2["status"].as_str()), ("5", "closed"));
    assert_eq!((r2["messages_customer"].as_str(), r2["messages_agent"].as_str()), ("1", "1"));

    // Never answered: closed while it waited, nobody held it.
    let r3 = row_of(&s3);
    for name in ["agents", "first_assigned_at", "first_response_seconds", "handle_seconds", "csat_score"] {
        assert_eq!(r3[name], "", "the unanswered session's {name}: {r3:?}");
    }
    assert_eq!((r3["closed_at"].as_str(), r3["resolution"].as_str()), (param(s3_closed).as_str(), "pending"));
    assert_eq!((r3["messages_customer"].as_str(), r3["messages_agent"].as_str()), ("1", "0"));

    // Still open: held, not answered, not closed.
    let r4 = row_of(&s4);
    assert_eq!(
        (r4["agents"].as_str(), r4["first_assigned_at"].as_str()),
        (Caller::AgentX.id(), param(s4_assigned).as_str())
    );
    for name in ["first_response_seconds", "handle_seconds", "closed_at", "csat_score"] {
        assert_eq!(r4[name], "", "the open session's {name}: {r4:?}");
    }
    assert_eq!((r4["resolution"].as_str(), r4["status"].as_str()), ("open", "active"));
    assert_eq!((r4["priority"].as_str(), r4["messages_customer"].as_str()), ("urgent", "1"));
}

async fn only_sessions_created_inside_the_range_are_exported(backend: Backend) {
    // Arrange: three sessions opened one after the other.
    let api = TestApi::start(backend).await;
    let before = open(&api, "cust-ann", "first", "normal").await;
    let inside = open(&api, "cust-bea", "second", "normal").await;
    let after = open(&api, "cust-cid", "third", "normal").await;
    let times = [&before, &inside, &after].map(|session| at(&session["created_at"]));
    assert!(times[0] < times[1] && times[1] < times[2], "arranging: distinct creation times {times:?}");

    // Act: from is inclusive, to exclusive.
    let just_inside = export(&api, &format!("from={}&to={}", param(times[1]), param(times[2]))).await;
    let both = export(&api, &format!("from={}&to={}", param(times[0]), param(times[2]))).await;
    let none = export(
        &api,
        &format!(
            "from={}&to={}",
            param(times[2] + Duration::milliseconds(1)),
            param(times[2] + Duration::days(1))
        ),
    )
    .await;

    // Assert
    assert_eq!(column(&parse(&just_inside).1, "session_id"), [id(&inside)]);
    assert_eq!(column(&parse(&both).1, "session_id"), [id(&before), id(&inside)]);
    let (header, rows) = parse(&none);
    assert_eq!((header.len(), rows.len()), (COLUMNS.len(), 0), "an empty range is the header alone");
}

async fn rows_stay_in_order_when_the_day_is_read_in_many_pages(backend: Backend) {
    // Arrange: seven sessions; the export reads the day index two events at a time.
    let api = TestApi::start(backend).await;
    let mut opened = Vec::new();
    for n in 0..7 {
        opened.push(open(&api, &format!("cust-{n}"), "paging", "normal").await);
    }
    let from = at(&opened[0]["created_at"]);
    let to = OffsetDateTime::now_utc() + Duration::minutes(1);
    let downloaded = export(&api, &format!("from={}&to={}", param(from), param(to))).await;
    let admin = switchboard_shared::domain::Principal {
        user_id: UserId::parse(Caller::Admin.id()).expect("a user id"),
        role: Role::Admin,
        name: None,
    };
    api.store.reset();

    // Act
    let store: std::sync::Arc<dyn ItemStore> = api.store.clone();
    let export =
        conversations::export(store, &admin, Some(param(from).as_str()), Some(param(to).as_str()), 2)
            .await
            .expect("the export starts");
    let chunks: Vec<_> = futures::TryStreamExt::try_collect(export.chunks).await.expect("every chunk");

    // Assert: the same file as the one-page download, read in more than one page.
    let paged: Vec<u8> = chunks.iter().flat_map(|chunk| chunk.iter().copied()).collect();
    assert_eq!(String::from_utf8_lossy(&paged), downloaded.text);
    let (_, rows) = parse(&downloaded);
    let mut expected: Vec<(OffsetDateTime, String)> =
        opened.iter().map(|s| (at(&s["created_at"]), id(s))).collect();
    expected.sort();
    assert_eq!(column(&rows, "session_id"), expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>());
    let queries = api.store.calls().get("query").copied().unwrap_or_default();
    assert!(queries > 7 + 1, "seven sessions and a day of 14 events in pages of 2: {queries} queries");
}

/// Seeds a session created at `created_at` (its record and its `session.created` event, with an
/// id made at that time as the API makes them).
async fn seed_created(api: &TestApi, n: u8, created_at: OffsetDateTime) -> String {
    seed_created_with_id_at(api, n, created_at, created_at).await
}

/// The same with the event's id made at `id_made_at` (a request that was slow between reading the
/// clock and making the id).
async fn seed_created_with_id_at(
    api: &TestApi,
    n: u8,
    created_at: OffsetDateTime,
    id_made_at: OffsetDateTime,
) -> String {
    let id = SessionId::parse(&format!("01JD00000000000000000001{n:02}")).expect("a session id");
    let customer = UserId::parse(&format!("cust-{n}")).expect("a user id");
    let session = Session::opened(id, customer.clone(), format!("seeded {n}"), Priority::Normal, created_at);
    let millis = u64::try_from(id_made_at.unix_timestamp_nanos() / 1_000_000).expect("a time after 1970");
    let event_id = ulid::Ulid::from_parts(millis, u128::from(n)).to_string();
    let event = AuditEvent {
        id: event_id.clone(),
        kind: EventKind::SessionCreated.into(),
        actor_id: customer,
        actor_role: Role::Customer,
        target: format!("session:{id}"),
        session_id: Some(id),
        at: created_at,
        details: json!({"priority": "normal", "room_id": null, "subject": session.subject}),
    };
    let item = |record: Value, keys: &[(&str, String)]| -> Item {
        let Value::Object(mut item) = record else { panic!("a record is an object") };
        for (name, value) in keys {
            item.insert((*name).to_owned(), Value::String(value.clone()));
        }
        item
    };
    let day = created_at.date();
    let record = serde_json::to_value(&session).expect("a session serialises");
    let logged = serde_json::to_value(&event).expect("an event serialises");
    let session_keys = [("pk", format!("SESSION#{id}")), ("sk", "META".to_owned())];
    let event_keys = [
        ("pk", format!("SESSION#{id}")),
        ("sk", format!("EVENT#{event_id}")),
        ("gsi1pk", format!("EVENTS#{day}")),
        ("gsi1sk", event_id.clone()),
    ];
    api.store.put(item(record, &session_keys), None).await.expect("seed a session");
    api.store.put(item(logged, &event_keys), None).await.expect("seed its event");
    id.to_string()
}

async fn rows_are_written_while_later_pages_are_still_unread(backend: Backend) {
    // Arrange: six sessions of one past day, an hour apart; pages of two events.
    let api = TestApi::start(backend).await;
    let day = OffsetDateTime::now_utc().date() - Duration::days(3);
    let midnight = day.midnight().assume_utc();
    let mut seeded = Vec::new();
    for n in 0..6u8 {
        seeded.push(seed_created(&api, n, midnight + Duration::hours(i64::from(n) * 3 + 1)).await);
    }
    let admin = switchboard_shared::domain::Principal {
        user_id: UserId::parse(Caller::Admin.id()).expect("a user id"),
        role: Role::Admin,
        name: None,
    };

    // Act: read the first chunk only.
    let store: std::sync::Arc<dyn ItemStore> = api.store.clone();
    api.store.reset();
    let day_text = day.to_string();
    let mut export =
        conversations::export(store, &admin, Some(day_text.as_str()), Some(day_text.as_str()), 2)
            .await
            .expect("the export starts");
    let first =
        futures::TryStreamExt::try_next(&mut export.chunks).await.expect("a chunk").expect("a first chunk");
    let read_for_the_first = api.store.calls().get("query").copied().unwrap_or_default();
    let rest: Vec<_> = futures::TryStreamExt::try_collect(export.chunks).await.expect("every chunk");

    // Assert: the first rows went out after the first page, before the later sessions were read;
    // the whole file has every session once, in order.
    let first = String::from_utf8_lossy(&first).into_owned();
    assert!(first.starts_with(&COLUMNS.join(",")), "{first}");
    assert!(first.contains(&seeded[0]) && !first.contains(&seeded[5]), "{first}");
    assert!(read_for_the_first < 1 + seeded.len(), "{read_for_the_first} queries before the first chunk");
    assert!(rest.len() > 1, "the rest came in {} chunks", rest.len());
    let whole = first + &rest.iter().map(|chunk| String::from_utf8_lossy(chunk)).collect::<String>();
    let mut reader = csv::Reader::from_reader(whole.as_bytes());
    let ids: Vec<String> = reader.records().map(|row| row.expect("a row")[0].to_owned()).collect();
    assert_eq!(ids, seeded);
    assert_eq!(export.file_name, format!("conversations-{day}-{day}.csv"));
}

async fn rows_are_in_creation_order_even_where_the_day_index_is_not(backend: Backend) {
    // Arrange: A is created first but its event's id was made 30 s later, after B's: the day
    // index lists B first. Pages of one event.
    let api = TestApi::start(backend).await;
    let day = OffsetDateTime::now_utc().date() - Duration::days(2);
    let ten = day.midnight().assume_utc() + Duration::hours(10);
    let a = seed_created_with_id_at(&api, 1, ten, ten + Duration::seconds(30)).await;
    let b = seed_created(&api, 2, ten + Duration::seconds(10)).await;
    let admin = switchboard_shared::domain::Principal {
        user_id: UserId::parse(Caller::Admin.id()).expect("a user id"),
        role: Role::Admin,
        name: None,
    };

    // Act
    let store: std::sync::Arc<dyn ItemStore> = api.store.clone();
    let day_text = day.to_string();
    let export = conversations::export(store, &admin, Some(day_text.as_str()), Some(day_text.as_str()), 1)
        .await
        .expect("the export starts");
    let chunks: Vec<_> = futures::TryStreamExt::try_collect(export.chunks).await.expect("every chunk");

    // Assert
    let text: String = chunks.iter().map(|chunk| String::from_utf8_lossy(chunk)).collect();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let ids: Vec<String> = reader.records().map(|row| row.expect("a row")[0].to_owned()).collect();
    assert_eq!(ids, [a, b], "by created_at, not by event id");
}

// ---------------------------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------------------------

async fn only_admins_export_and_bad_ranges_are_refused_before_anything_is_read(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    open(&api, "cust-ann", "a session to export", "normal").await;
    let cases: Vec<(Caller, String, u16, &str)> = vec![
        (Caller::CustomerA, String::new(), 403, "forbidden"),
        (Caller::AgentX, String::new(), 403, "forbidden"),
        (Caller::AgentX, "?from=nonsense".to_owned(), 403, "forbidden"),
        (Caller::Admin, "?from=2026-11-25&to=2026-11-24".to_owned(), 400, "invalid_range"),
        (
            Caller::Admin,
            "?from=2026-01-01T10:00:00Z&to=2026-01-01T10:00:00Z".to_owned(),
            400,
            "invalid_range",
        ),
        (Caller::Admin, "?from=2025-01-01&to=2026-01-02".to_owned(), 400, "range_too_long"),
        (Caller::Admin, "?from=2026-02-30".to_owned(), 400, "invalid_parameter"),
        (Caller::Admin, "?to=yesterday".to_owned(), 400, "invalid_parameter"),
    ];
    let mut wrong = Vec::new();
    for (caller, query, status, code) in cases {
        api.store.reset();

        // Act
        let fetched = api.fetch(&format!("{EXPORT}{query}"), &caller.token(&api)).await;

        // Assert: a JSON error, no CSV, and the store untouched.
        let body: Value = serde_json::from_str(&fetched.text).unwrap_or(Value::Null);
        let answered = (fetched.status, body["error"]["code"].as_str().unwrap_or_default());
        if answered != (status, code)
            || !body["error"]["message"].is_string()
            || !fetched.content_type.starts_with("application/json")
            || !fetched.disposition.is_empty()
            || api.store.total() != 0
        {
            wrong.push(format!(
                "  {caller:?} {query:?}: expected {status} {code}, got {fetched:?} after {:?}",
                api.store.calls()
            ));
        }
    }
    let anonymous = api.call(Method::GET, EXPORT, None, None).await;
    if (anonymous.status, anonymous.error_code()) != (401, "unauthorized") {
        wrong.push(format!("  no token: {anonymous:?}"));
    }
    let a_year = export(&api, "from=2024-01-01&to=2024-12-31").await;
    if a_year.status != 200 {
        wrong.push(format!("  366 days: {a_year:?}"));
    }
    assert!(wrong.is_empty(), "refusals went wrong:\n{}", wrong.join("\n"));
}

//! DynamoDB calls per endpoint: every row of the calls-per-endpoint table in
//! `docs/DATA_MODEL.md` is measured with one successful request through the local gateway, and
//! the item-store calls it makes must equal the documented figure. The table and the gateway
//! must also name the same functions, with the same routes.
//!
//! Each measurement starts a fresh gateway, arranges the request's preconditions through the API,
//! resets the call counter, makes the one request and reads the counter.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_local::gateway::functions;
use switchboard_local::template::{match_path, routes, Route, TEMPLATE};
use switchboard_shared::attachments::{Attachment, AttachmentStatus};
use switchboard_shared::domain::{now, Role, UserId};
use switchboard_shared::ops::email;
use switchboard_shared::repo::attachments;
use switchboard_shared::reports::{ReportId, PDF_CONTENT_TYPE};
use switchboard_tests::{Backend, Reply, TestApi};

const TABLE_START: &str = "<!-- calls-per-endpoint:start -->";
const TABLE_END: &str = "<!-- calls-per-endpoint:end -->";
const API_PREFIX: &str = "/api/v1";

const CUSTOMER: &str = "cust-ada";
const AGENT: &str = "agent-bob";
const ADMIN: &str = "admin-eve";
const OTHER_CUSTOMER: &str = "cust-zed";

// ---------------------------------------------------------------------------------------------
// The documented table
// ---------------------------------------------------------------------------------------------

/// One row of the calls-per-endpoint table.
#[derive(Debug, Clone)]
struct Row {
    function: String,
    /// `POST /chat/sessions`, backticks taken off.
    endpoint: String,
    calls: usize,
    requests: String,
}

fn documented_rows() -> Vec<Row> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("docs").join("DATA_MODEL.md");
    let text =
        fs::read_to_string(&file).unwrap_or_else(|error| panic!("cannot read {}: {error}", file.display()));
    let start = text.find(TABLE_START).unwrap_or_else(|| panic!("docs/DATA_MODEL.md lacks {TABLE_START}"));
    let end = text.find(TABLE_END).unwrap_or_else(|| panic!("docs/DATA_MODEL.md lacks {TABLE_END}"));
    assert!(start < end, "docs/DATA_MODEL.md: {TABLE_END} comes before {TABLE_START}");

    let mut lines =
        text[start + TABLE_START.len()..end].lines().map(str::trim).filter(|line| !line.is_empty());
    let header = lines.next().expect("the calls table has a header row");
    assert_eq!(cells(header), ["function", "endpoint", "calls", "requests"], "the calls table's columns");
    let separator = lines.next().expect("the calls table has a separator row");
    assert!(
        cells(separator).iter().all(|cell| !cell.is_empty() && cell.chars().all(|c| c == '-' || c == ':')),
        "the calls table's second line is not a separator: {separator}"
    );

    let rows: Vec<Row> = lines
        .map(|line| match cells(line).as_slice() {
            [function, endpoint, calls, requests] => Row {
                function: function.trim_matches('`').to_owned(),
                endpoint: endpoint.trim_matches('`').to_owned(),
                calls: calls
                    .parse()
                    .unwrap_or_else(|_| panic!("the calls of {function} are not a number: {calls}")),
                requests: requests.clone(),
            },
            other => panic!("a calls table row has {} cells, not 4: {line}", other.len()),
        })
        .collect();
    assert!(!rows.is_empty(), "the calls table has no rows");
    rows
}

/// The cells of a Markdown table line (the table's cells hold no `|`).
fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_start_matches('|')
        .trim_end_matches('|')
        .split('|')
        .map(|c| c.trim().to_owned())
        .collect()
}

fn template_routes() -> BTreeMap<String, Route> {
    routes(TEMPLATE)
        .expect("infra/template.yaml has usable routes")
        .into_iter()
        .map(|route| (route.binary.clone(), route))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Measuring one request
// ---------------------------------------------------------------------------------------------

/// The one measured request of a scenario and the calls it made.
struct Measured {
    method: Method,
    /// Path under `/api/v1`, with its query string.
    path: String,
    reply: Reply,
    total: usize,
    calls: BTreeMap<&'static str, usize>,
}

/// Resets the call counter, makes the request, reads the counter.
async fn measure(
    api: &TestApi,
    (sub, role): (&str, Role),
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Measured {
    let token = api.token(sub, role);
    api.store.reset();
    let reply = api.call(method.clone(), path, Some(&token), body).await;
    Measured { method, path: path.to_owned(), reply, total: api.store.total(), calls: api.store.calls() }
}

/// An arranging request, which must answer `expected`.
async fn arrange(
    api: &TestApi,
    (sub, role): (&str, Role),
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: u16,
) -> Value {
    let reply = api.as_user(sub, role, method.clone(), path, body).await;
    assert_eq!(reply.status, expected, "arranging {method} {path} as {sub}: {}", reply.body);
    reply.body
}

/// `POST /notifications/bulk-send` as the admin with a fixed `Idempotency-Key`.
async fn keyed_bulk_send(api: &TestApi, body: &Value) -> Reply {
    let token = api.token(admin().0, admin().1);
    let response = api
        .client
        .post(format!("{}/notifications/bulk-send", api.base))
        .bearer_auth(token)
        .header("idempotency-key", "round-trips")
        .json(body)
        .send()
        .await
        .expect("the gateway answers");
    let status = response.status().as_u16();
    let reply = Reply { status, body: response.json().await.unwrap_or(Value::Null) };
    assert_eq!(reply.status, 202, "a bulk send: {}", reply.body);
    reply
}

/// The job's path, once the worker has handled every recipient (polled a bounded number of
/// times).
async fn bulk_job_done(api: &TestApi, started: &Reply) -> String {
    let path = format!("/notifications/jobs/{}", started.body["job_id"].as_str().expect("a job id"));
    for _ in 0..400 {
        if arrange(api, admin(), Method::GET, &path, None, 200).await["done"] == true {
            return path;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{path} was not done after 400 polls");
}

fn id_of(body: &Value) -> String {
    body["id"].as_str().unwrap_or_else(|| panic!("no id in {body}")).to_owned()
}

fn customer() -> (&'static str, Role) {
    (CUSTOMER, Role::Customer)
}

fn agent() -> (&'static str, Role) {
    (AGENT, Role::Agent)
}

fn admin() -> (&'static str, Role) {
    (ADMIN, Role::Admin)
}

async fn create_room(api: &TestApi, name: &str) -> String {
    id_of(&arrange(api, admin(), Method::POST, "/chat/rooms", Some(json!({"name": name})), 201).await)
}

/// A waiting session of the customer.
async fn open_session(api: &TestApi) -> String {
    let body = json!({"subject": "Charged twice", "priority": "high"});
    id_of(&arrange(api, customer(), Method::POST, "/chat/sessions", Some(body), 201).await)
}

/// A session of the customer, taken by the agent.
async fn active_session(api: &TestApi) -> String {
    let session = open_session(api).await;
    switchboard_tests::on_duty(api, AGENT).await;
    let path = format!("/admin/chat-dashboard/sessions/{session}/assign");
    arrange(api, agent(), Method::POST, &path, Some(json!({})), 200).await;
    session
}

async fn send(api: &TestApi, session: &str, client_message_id: &str) -> String {
    let body = json!({"session_id": session, "body": "Hi, I was charged twice.", "client_message_id": client_message_id});
    id_of(&arrange(api, customer(), Method::POST, "/chat/messages", Some(body), 201).await)
}

/// A failed change kept for admins: the change record of a customer's message in an active
/// session (its replay counts it and reads who to push to); returns its id.
async fn failed_change(api: &TestApi) -> String {
    use switchboard_shared::changes::failed::{self, FailedChange};
    use switchboard_shared::changes::{ChangeKind, ChangeRecord};
    let session = active_session(api).await;
    let message = send(api, &session, "failed-1").await;
    api.settle().await;
    let reply = arrange(api, customer(), Method::GET, &format!("/chat/messages/{session}"), None, 200).await;
    let Value::Object(mut image) = reply["items"][0].clone() else { panic!("a message: {reply:?}") };
    let (pk, sk) = (format!("SESSION#{session}"), format!("MSG#{message}"));
    image.insert("pk".into(), pk.clone().into());
    image.insert("sk".into(), sk.clone().into());
    let record = ChangeRecord {
        sequence: "1".into(),
        shard: switchboard_shared::store::changes::LOCAL_SHARD.into(),
        kind: ChangeKind::Insert,
        pk,
        sk,
        old: None,
        new: Some(image),
        at_ms: 0,
    };
    let id = ulid::Ulid::new().to_string();
    let kept = FailedChange {
        id: id.clone(),
        record,
        error: "store unavailable".into(),
        attempts: 3,
        failed_at: switchboard_shared::domain::now(),
    };
    failed::put(api.store.as_ref(), &kept).await.expect("keep a failed change");
    id
}

/// The agent answers in their session.
async fn send_as_agent(api: &TestApi, session: &str) {
    let body = json!({"session_id": session, "body": "Let me look into it."});
    arrange(api, agent(), Method::POST, "/chat/messages", Some(body), 201).await;
}

/// `from=&to=` of today (UTC): a report range of one day, so one day partition is read.
fn today() -> String {
    let day = time::OffsetDateTime::now_utc().date();
    let text = format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day());
    format!("from={text}&to={text}")
}

/// Yesterday, `yyyy-mm-dd`.
fn yesterday() -> String {
    let day = time::OffsetDateTime::now_utc().date() - time::Duration::DAY;
    format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day())
}

/// Arranges the preconditions of `function`'s request, then measures that request; `None` for
/// a function this test has no scenario for.
async fn measure_function(api: &TestApi, function: &str) -> Option<Measured> {
    let measured = match function {
        "chat-create-session" => {
            let room = create_room(api, "Billing").await;
            let body = json!({"subject": "Refund for order 1234", "priority": "high", "room_id": room});
            measure(api, customer(), Method::POST, "/chat/sessions", Some(body)).await
        }
        "chat-list-sessions" => {
            open_session(api).await;
            active_session(api).await;
            measure(api, customer(), Method::GET, "/chat/sessions", None).await
        }
        "chat-get-session" => {
            let session = active_session(api).await;
            measure(api, customer(), Method::GET, &format!("/chat/sessions/{session}"), None).await
        }
        "chat-update-session" => {
            let session = active_session(api).await;
            let body = json!({"priority": "urgent"});
            measure(api, agent(), Method::PATCH, &format!("/chat/sessions/{session}"), Some(body)).await
        }
        "chat-close-session" => {
            let session = active_session(api).await;
            measure(api, agent(), Method::POST, &format!("/chat/sessions/{session}/close"), None).await
        }
        "chat-list-participants" => {
            let session = active_session(api).await;
            measure(api, customer(), Method::GET, &format!("/chat/sessions/{session}/participants"), None)
                .await
        }
        "chat-mark-read" => {
            let session = active_session(api).await;
            let message = send(api, &session, "first").await;
            let path = format!("/chat/sessions/{session}/read");
            measure(api, agent(), Method::POST, &path, Some(json!({"message_id": message}))).await
        }
        "chat-send-message" => {
            let session = active_session(api).await;
            let body = json!({"session_id": session, "body": "Hi, I was charged twice.", "client_message_id": "first"});
            measure(api, customer(), Method::POST, "/chat/messages", Some(body)).await
        }
        "chat-list-messages" => {
            let session = active_session(api).await;
            send(api, &session, "first").await;
            send(api, &session, "second").await;
            measure(api, customer(), Method::GET, &format!("/chat/messages/{session}?limit=50"), None).await
        }
        "chat-edit-message" => {
            let session = active_session(api).await;
            let message = send(api, &session, "first").await;
            let path = format!("/chat/messages/{session}/{message}");
            let body = json!({"body": "Hi, I was charged twice for order 1234."});
            measure(api, customer(), Method::PATCH, &path, Some(body)).await
        }
        "chat-delete-message" => {
            let session = active_session(api).await;
            let message = send(api, &session, "first").await;
            measure(api, customer(), Method::DELETE, &format!("/chat/messages/{session}/{message}"), None)
                .await
        }
        "chat-block-user" => {
            let path = format!("/chat/users/{OTHER_CUSTOMER}/block");
            measure(api, agent(), Method::POST, &path, Some(json!({"reason": "abusive language"}))).await
        }
        "chat-unblock-user" => {
            let block = format!("/chat/users/{OTHER_CUSTOMER}/block");
            arrange(api, agent(), Method::POST, &block, Some(json!({"reason": "spam"})), 200).await;
            measure(api, agent(), Method::POST, &format!("/chat/users/{OTHER_CUSTOMER}/unblock"), None).await
        }
        "chat-list-blocked-users" => {
            let block = format!("/chat/users/{OTHER_CUSTOMER}/block");
            arrange(api, agent(), Method::POST, &block, Some(json!({"reason": "spam"})), 200).await;
            measure(api, agent(), Method::GET, "/chat/users/blocked", None).await
        }
        "notifications-register-device" => {
            let body = json!({"token": "fcm-token-new-phone", "platform": "android"});
            measure(api, customer(), Method::POST, "/notifications/devices/register", Some(body)).await
        }
        "notifications-unregister-device" => {
            let body = json!({"token": "fcm-token-old-phone", "platform": "android"});
            arrange(api, customer(), Method::POST, "/notifications/devices/register", Some(body), 200).await;
            let body = json!({"token": "fcm-token-old-phone"});
            measure(api, customer(), Method::POST, "/notifications/devices/unregister", Some(body)).await
        }
        "notifications-send" => {
            let body = json!({"user_id": CUSTOMER, "title": "Maintenance", "body": "Sunday 02:00 UTC"});
            measure(api, admin(), Method::POST, "/notifications/send", Some(body)).await
        }
        "notifications-bulk-send" => {
            // The worker runs beside the request and would be counted with it: the measured
            // request is a retry with its Idempotency-Key, once the first one's job is done.
            let body = json!({"user_ids": [CUSTOMER], "title": "Maintenance", "body": "Sunday 02:00 UTC"});
            let first = keyed_bulk_send(api, &body).await;
            bulk_job_done(api, &first).await;
            api.store.reset();
            let reply = keyed_bulk_send(api, &body).await;
            let path = "/notifications/bulk-send".to_owned();
            Measured { method: Method::POST, path, reply, total: api.store.total(), calls: api.store.calls() }
        }
        "notifications-get-job" => {
            let body = json!({"user_ids": [CUSTOMER], "title": "Maintenance", "body": "Sunday 02:00 UTC"});
            let started = keyed_bulk_send(api, &body).await;
            let path = bulk_job_done(api, &started).await;
            measure(api, admin(), Method::GET, &path, None).await
        }
        "notifications-list-delivery-logs" => {
            measure(api, customer(), Method::GET, "/notifications/delivery-logs", None).await
        }
        "notifications-get-preferences" => {
            measure(api, customer(), Method::GET, "/notifications/preferences", None).await
        }
        "notifications-put-preferences" => {
            let body =
                json!({"quiet_hours": {"start": "22:00", "end": "07:00", "time_zone": "Europe/Berlin"}});
            measure(api, customer(), Method::PUT, "/notifications/preferences", Some(body)).await
        }
        "chat-list-rooms" => {
            create_room(api, "Billing").await;
            create_room(api, "Technical support").await;
            measure(api, customer(), Method::GET, "/chat/rooms", None).await
        }
        "chat-create-room" => {
            let body = json!({"name": "Technical support", "description": "Bugs and outages"});
            measure(api, admin(), Method::POST, "/chat/rooms", Some(body)).await
        }
        "agent-get-status" => {
            switchboard_tests::on_duty(api, AGENT).await;
            measure(api, agent(), Method::GET, "/agent/status", None).await
        }
        "agent-set-status" => {
            let body = json!({"status": "online", "capacity": 5});
            measure(api, agent(), Method::PUT, "/agent/status", Some(body)).await
        }
        "agent-update-settings" => {
            switchboard_tests::on_duty(api, AGENT).await;
            let body = json!({"capacity": 3});
            measure(api, admin(), Method::PATCH, &format!("/admin/agents/{AGENT}"), Some(body)).await
        }
        "chat-reopen-session" => {
            let session = active_session(api).await;
            arrange(api, agent(), Method::POST, &format!("/chat/sessions/{session}/close"), None, 200).await;
            measure(api, customer(), Method::POST, &format!("/chat/sessions/{session}/reopen"), None).await
        }
        "chat-rate-session" => {
            let session = active_session(api).await;
            arrange(api, agent(), Method::POST, &format!("/chat/sessions/{session}/close"), None, 200).await;
            let body = json!({"score": 5, "comment": "quick"});
            measure(api, customer(), Method::POST, &format!("/chat/sessions/{session}/rating"), Some(body))
                .await
        }
        "dashboard-transfer-session" => {
            let session = active_session(api).await;
            switchboard_tests::on_duty(api, "agent-cy").await;
            let path = format!("/admin/chat-dashboard/sessions/{session}/transfer");
            let body = json!({"to_agent_id": "agent-cy", "reason": "billing specialist"});
            measure(api, admin(), Method::POST, &path, Some(body)).await
        }
        "dashboard-overview" => {
            active_session(api).await;
            open_session(api).await;
            measure(api, admin(), Method::GET, "/admin/chat-dashboard/overview", None).await
        }
        "dashboard-agent-performance" => {
            let session = active_session(api).await;
            send_as_agent(api, &session).await;
            measure(
                api,
                admin(),
                Method::GET,
                &format!("/admin/chat-dashboard/agent-performance?{}", today()),
                None,
            )
            .await
        }
        "dashboard-active-sessions" => {
            active_session(api).await;
            active_session(api).await;
            measure(api, admin(), Method::GET, "/admin/chat-dashboard/active-sessions", None).await
        }
        "dashboard-waiting-sessions" => {
            open_session(api).await;
            open_session(api).await;
            measure(api, agent(), Method::GET, "/admin/chat-dashboard/waiting-sessions", None).await
        }
        "dashboard-satisfaction" => {
            let session = active_session(api).await;
            arrange(api, agent(), Method::POST, &format!("/chat/sessions/{session}/close"), None, 200).await;
            let rating = json!({"score": 4, "comment": "quick and kind"});
            let path = format!("/chat/sessions/{session}/rating");
            let reply = api.as_user(CUSTOMER, Role::Customer, Method::POST, &path, Some(rating)).await;
            assert!(matches!(reply.status, 200 | 201), "arranging a rating: {reply:?}");
            measure(
                api,
                admin(),
                Method::GET,
                &format!("/admin/chat-dashboard/satisfaction?{}", today()),
                None,
            )
            .await
        }
        "dashboard-message-analytics" => {
            let session = active_session(api).await;
            send(api, &session, "first").await;
            send_as_agent(api, &session).await;
            let path = format!("/admin/chat-dashboard/message-analytics?{}", today());
            measure(api, admin(), Method::GET, &path, None).await
        }
        "dashboard-health" => {
            measure(api, customer(), Method::GET, "/admin/chat-dashboard/health", None).await
        }
        "analytics-start-backfill" => {
            active_session(api).await;
            let body = json!({"from": yesterday(), "to": yesterday()});
            measure(api, admin(), Method::POST, "/admin/analytics/backfill", Some(body)).await
        }
        "analytics-get-backfill" => {
            let body = json!({"from": yesterday(), "to": yesterday()});
            let reply =
                api.as_user(ADMIN, Role::Admin, Method::POST, "/admin/analytics/backfill", Some(body)).await;
            assert_eq!(reply.status, 201, "arranging a backfill: {reply:?}");
            let id = reply.body["id"].as_str().expect("a job id").to_owned();
            measure(api, admin(), Method::GET, &format!("/admin/analytics/backfill/{id}"), None).await
        }
        "reports-daily-figures" => {
            let session = active_session(api).await;
            arrange(api, agent(), Method::POST, &format!("/chat/sessions/{session}/close"), None, 200).await;
            measure(api, admin(), Method::GET, &format!("/admin/reports/daily?{}", today()), None).await
        }
        "reports-list" => {
            store_report(api).await;
            measure(api, admin(), Method::GET, "/admin/reports", None).await
        }
        "reports-download" => {
            let id = store_report(api).await;
            measure(api, admin(), Method::GET, &format!("/admin/reports/{id}/download"), None).await
        }
        "reports-conversations" => {
            let session = active_session(api).await;
            send(api, &session, "csv-1").await;
            send_as_agent(api, &session).await;
            let path = format!("/admin/reports/conversations.csv?{}", today());
            measure(api, admin(), Method::GET, &path, None).await
        }
        "email-unsubscribe-page" | "email-unsubscribe" => {
            // A visitor's link (made before the request: it stores the link key the first time).
            let visitor = UserId::parse("wv:01JD000000000000000000000A:01JD000000000000000000000D").ok()?;
            let link = email::unsubscribe_link(api.store.as_ref(), "", &visitor).await.ok()?;
            let method = if function == "email-unsubscribe" { Method::POST } else { Method::GET };
            measure(api, customer(), method, &link, None).await
        }
        "dashboard-list-failed-changes" => {
            failed_change(api).await;
            measure(api, admin(), Method::GET, "/admin/failed-changes", None).await
        }
        "dashboard-replay-failed-change" => {
            let id = failed_change(api).await;
            measure(api, admin(), Method::POST, &format!("/admin/failed-changes/{id}/replay"), None).await
        }
        "dashboard-audit-log" => {
            let session = active_session(api).await;
            measure(api, admin(), Method::GET, &format!("/admin/audit-log?session_id={session}"), None).await
        }
        "dashboard-transcript" => {
            let session = active_session(api).await;
            send(api, &session, "tx-1").await;
            let path = format!("/admin/chat-dashboard/sessions/{session}/transcript");
            measure(api, admin(), Method::GET, &path, None).await
        }
        "dashboard-assign-session" => {
            let session = open_session(api).await;
            switchboard_tests::on_duty(api, AGENT).await;
            let path = format!("/admin/chat-dashboard/sessions/{session}/assign");
            measure(api, agent(), Method::POST, &path, Some(json!({}))).await
        }
        "chat-list-notes" => {
            let session = active_session(api).await;
            note(api, &session).await;
            measure(api, agent(), Method::GET, &format!("/chat/sessions/{session}/notes"), None).await
        }
        "email-list-session-emails" => {
            let session = active_session(api).await;
            measure(api, agent(), Method::GET, &format!("/chat/sessions/{session}/emails"), None).await
        }
        "chat-create-note" => {
            let session = active_session(api).await;
            let body = json!({"body": "Customer confirmed **both** charges."});
            measure(api, agent(), Method::POST, &format!("/chat/sessions/{session}/notes"), Some(body)).await
        }
        "chat-edit-note" => {
            let session = active_session(api).await;
            let note = note(api, &session).await;
            let body = json!({"body": "Both charges confirmed; refund sent."});
            measure(
                api,
                agent(),
                Method::PATCH,
                &format!("/chat/sessions/{session}/notes/{note}"),
                Some(body),
            )
            .await
        }
        "agent-list-canned-responses" => {
            canned(api, agent(), json!({"scope": "personal"})).await;
            canned(api, admin(), json!({"scope": "global"})).await;
            measure(api, agent(), Method::GET, "/agent/canned-responses", None).await
        }
        "agent-create-canned-response" => {
            let body = canned_body(json!({"scope": "personal"}));
            measure(api, agent(), Method::POST, "/agent/canned-responses", Some(body)).await
        }
        "agent-update-canned-response" => {
            let id = canned(api, agent(), json!({"scope": "personal"})).await;
            let body = json!({"shortcode": "refund-sent", "title": "Refund sent", "body": "Sent, {{customer.name}}."});
            measure(api, agent(), Method::PUT, &format!("/agent/canned-responses/{id}"), Some(body)).await
        }
        "agent-delete-canned-response" => {
            let id = canned(api, agent(), json!({"scope": "personal"})).await;
            measure(api, agent(), Method::DELETE, &format!("/agent/canned-responses/{id}"), None).await
        }
        "agent-render-canned-response" => {
            let session = active_session(api).await;
            let id = canned(api, agent(), json!({"scope": "personal"})).await;
            let path = format!("/agent/canned-responses/{id}/render");
            measure(api, agent(), Method::POST, &path, Some(json!({"session_id": session}))).await
        }
        "widget-create-site" => {
            let body = json!({"name": "Shop", "allowed_origins": [SHOP, "https://www.shop.example"]});
            measure(api, admin(), Method::POST, "/admin/sites", Some(body)).await
        }
        "widget-list-sites" => {
            widget_site(api).await;
            measure(api, admin(), Method::GET, "/admin/sites", None).await
        }
        "widget-get-site" => {
            let site = widget_site(api).await;
            measure(api, admin(), Method::GET, &format!("/admin/sites/{site}"), None).await
        }
        "widget-update-site" => {
            let site = widget_site(api).await;
            let body = json!({"allowed_origins": ["https://www.shop.example"], "greeting": "Hello"});
            measure(api, admin(), Method::PATCH, &format!("/admin/sites/{site}"), Some(body)).await
        }
        "widget-rotate-site-secret" => {
            let site = widget_site(api).await;
            measure(api, admin(), Method::POST, &format!("/admin/sites/{site}/rotate-secret"), None).await
        }
        "widget-delete-site" => {
            let site = widget_site(api).await;
            measure(api, admin(), Method::DELETE, &format!("/admin/sites/{site}"), None).await
        }
        "widget-site-settings" => {
            let site = widget_site(api).await;
            measure_from_page(api, Method::GET, &format!("/widget/sites/{site}"), None, None).await
        }
        "widget-create-visitor" => {
            let site = widget_site(api).await;
            measure_from_page(api, Method::POST, "/widget/visitors", None, Some(json!({"site_id": site})))
                .await
        }
        "widget-identify-user" => {
            let site = api
                .call(
                    Method::POST,
                    "/admin/sites",
                    Some(&api.token(ADMIN, Role::Admin)),
                    Some(json!({"name": "Shop", "allowed_origins": [SHOP]})),
                )
                .await;
            let (site, secret) = (
                site.body["site_id"].as_str().unwrap_or_default().to_owned(),
                site.body["identity_secret"].as_str().unwrap_or_default().to_owned(),
            );
            let guest =
                from_page(api, Method::POST, "/widget/visitors", None, Some(json!({"site_id": site}))).await;
            let guest = guest.body["token"].as_str().unwrap_or_default().to_owned();
            let opened =
                from_page(api, Method::POST, "/chat/sessions", Some(&guest), Some(json!({"subject": "Zip"})))
                    .await;
            assert_eq!(opened.status, 201, "{}", opened.body);
            let signature = switchboard_shared::domain::widget::sign_user_id(&secret, "u-1");
            let body = json!({"site_id": site, "user_id": "u-1", "signature": signature});
            measure_from_page(api, Method::POST, "/widget/identify", Some(&guest), Some(body)).await
        }
        "widget-answer-preflight" => {
            widget_site(api).await;
            api.store.reset();
            let response = api
                .client
                .request(Method::OPTIONS, format!("{}/chat/messages", api.base))
                .header("origin", SHOP)
                .header("access-control-request-method", "POST")
                .send()
                .await
                .expect("the gateway answers");
            let reply = Reply { status: response.status().as_u16(), body: Value::Null };
            Measured {
                method: Method::OPTIONS,
                path: "/chat/messages".into(),
                reply,
                total: api.store.total(),
                calls: api.store.calls(),
            }
        }
        "attachments-request-upload" => {
            let session = active_session(api).await;
            let body = json!({"file_name": "error.png", "content_type": "image/png", "size": 4096});
            measure(
                api,
                customer(),
                Method::POST,
                &format!("/chat/sessions/{session}/attachments"),
                Some(body),
            )
            .await
        }
        "attachments-download" => {
            let session = active_session(api).await;
            let body = json!({"file_name": "error.png", "content_type": "image/png", "size": 4096});
            let path = format!("/chat/sessions/{session}/attachments");
            let requested = arrange(api, customer(), Method::POST, &path, Some(body), 201).await;
            let attachment: Attachment =
                serde_json::from_value(requested["attachment"].clone()).expect("an attachment");
            attachments::finish(api.store.as_ref(), &attachment, AttachmentStatus::Ready, None, false, now())
                .await
                .expect("the check ends it");
            measure(api, agent(), Method::GET, &format!("{path}/{}", attachment.id), None).await
        }
        _ => return None,
    };
    Some(measured)
}

/// The origin of the widget's sites in these scenarios.
const SHOP: &str = "https://shop.example";

/// A widget site allowing [`SHOP`]; returns its id.
async fn widget_site(api: &TestApi) -> String {
    let body = json!({"name": "Shop", "allowed_origins": [SHOP]});
    arrange(api, admin(), Method::POST, "/admin/sites", Some(body), 201).await["site_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A request as a page of [`SHOP`] sends it, with an optional bearer token.
async fn from_page(
    api: &TestApi,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    api.call_from(SHOP, method, path, token, body).await
}

/// [`measure`] for a request from a page of [`SHOP`].
async fn measure_from_page(
    api: &TestApi,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Measured {
    api.store.reset();
    let reply = from_page(api, method.clone(), path, token, body).await;
    Measured { method, path: path.to_owned(), reply, total: api.store.total(), calls: api.store.calls() }
}

/// A stored daily report (as the daily run leaves it); returns its id.
async fn store_report(api: &TestApi) -> String {
    let id = ReportId::daily(time::macros::date!(2026 - 01 - 01));
    api.reports.put(&id, b"%PDF-1.7 a stand-in".to_vec(), PDF_CONTENT_TYPE).await.expect("store a report");
    id.to_string()
}

/// The agent's note on `session`.
async fn note(api: &TestApi, session: &str) -> String {
    let body = json!({"body": "Two identical charges on the statement."});
    id_of(
        &arrange(api, agent(), Method::POST, &format!("/chat/sessions/{session}/notes"), Some(body), 201)
            .await,
    )
}

/// A canned response's body: `scope` (and `room_id`) plus shortcode `refund`, a title and a
/// body with a placeholder.
fn canned_body(mut scope: Value) -> Value {
    scope["shortcode"] = json!("refund");
    scope["title"] = json!("Refund on its way");
    scope["body"] = json!("Hi {{customer.name}}, the refund is on its way.");
    scope
}

/// A canned response by `author`; returns its id.
async fn canned(api: &TestApi, author: (&str, Role), scope: Value) -> String {
    let body = canned_body(scope);
    id_of(&arrange(api, author, Method::POST, "/agent/canned-responses", Some(body), 201).await)
}

/// What is wrong with a row's measurement, if anything.
fn problems_of(row: &Row, route: Option<&Route>, measured: &Measured) -> Vec<String> {
    let mut problems = Vec::new();
    let path_only = measured.path.split('?').next().unwrap_or_default();
    let on_route = route.is_some_and(|route| {
        route.method == measured.method.as_str()
            && match_path(&route.path, &format!("{API_PREFIX}{path_only}")).is_some()
    });
    if !on_route {
        problems.push(format!(
            "{}: the measured {} {} is not the function's route {:?}",
            row.function, measured.method, measured.path, route
        ));
    }
    if !(200..300).contains(&measured.reply.status) {
        problems.push(format!(
            "{}: {} {} answered {}: {}",
            row.function, measured.method, measured.path, measured.reply.status, measured.reply.body
        ));
    }
    if measured.total != row.calls {
        problems.push(format!(
            "{}: documented {} calls, measured {} ({:?}); documented requests: {}",
            row.function, row.calls, measured.total, measured.calls, row.requests
        ));
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn every_gateway_function_has_a_documented_call_count() {
    // Arrange
    let documented: BTreeSet<String> = documented_rows().into_iter().map(|row| row.function).collect();

    // Act
    let mut missing: Vec<&str> = functions().into_keys().filter(|name| !documented.contains(*name)).collect();
    missing.sort_unstable();

    // Assert
    assert!(missing.is_empty(), "functions with no row in docs/DATA_MODEL.md's calls table: {missing:?}");
}

#[test]
fn every_documented_function_is_a_gateway_function_listed_once() {
    // Arrange
    let functions = functions();
    let rows = documented_rows();

    // Act
    let unknown: Vec<&str> =
        rows.iter().map(|row| row.function.as_str()).filter(|name| !functions.contains_key(name)).collect();
    let mut seen = BTreeSet::new();
    let repeated: Vec<&str> =
        rows.iter().map(|row| row.function.as_str()).filter(|name| !seen.insert(*name)).collect();

    // Assert
    assert!(unknown.is_empty(), "calls table rows that name no gateway function: {unknown:?}");
    assert!(repeated.is_empty(), "functions with more than one calls table row: {repeated:?}");
}

#[test]
fn every_documented_endpoint_is_the_route_of_its_function() {
    // Arrange
    let routes = template_routes();

    // Act
    let wrong: Vec<String> = documented_rows()
        .into_iter()
        .filter_map(|row| {
            let route = routes.get(&row.function)?;
            let actual =
                format!("{} {}", route.method, route.path.strip_prefix(API_PREFIX).unwrap_or(&route.path));
            (actual != row.endpoint)
                .then(|| format!("{}: documented {:?}, routed {actual:?}", row.function, row.endpoint))
        })
        .collect();

    // Assert
    assert!(
        wrong.is_empty(),
        "calls table endpoints that are not the template's routes:\n{}",
        wrong.join("\n")
    );
}

#[tokio::test]
async fn every_documented_endpoint_makes_exactly_its_documented_calls() {
    // Arrange
    let rows = documented_rows();
    let routes = template_routes();

    let mut problems = Vec::new();
    let mut report = Vec::new();
    for row in &rows {
        let api = TestApi::start(Backend::Sqlite).await;

        // Act
        let Some(measured) = measure_function(&api, &row.function).await else {
            problems.push(format!("{}: this test has no scenario for it; add one", row.function));
            continue;
        };

        // Assert (collected, so one run reports every endpoint)
        report.push(format!(
            "{:<26} documented {} measured {} {:?}",
            row.function, row.calls, measured.total, measured.calls
        ));
        problems.extend(problems_of(row, routes.get(&row.function), &measured));
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}\n\nall measurements:\n{}",
        problems.len(),
        problems.join("\n"),
        report.join("\n")
    );
}

#[tokio::test]
async fn a_retried_send_with_the_same_client_message_id_makes_the_write_attempt_and_three_reads() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;
    let body =
        json!({"session_id": session, "body": "Hi, I was charged twice.", "client_message_id": "retried"});
    let original = arrange(&api, customer(), Method::POST, "/chat/messages", Some(body.clone()), 201).await;

    // Act
    let retry = measure(&api, customer(), Method::POST, "/chat/messages", Some(body)).await;

    // Assert
    assert_eq!(retry.reply.status, 200, "a retry answers 200 with the original: {}", retry.reply.body);
    assert_eq!(retry.reply.body["id"], original["id"], "the retry returned another message");
    // The customer's block, the failed write, the claim and the original.
    let expected = BTreeMap::from([("get", 3), ("transact_write", 1)]);
    assert_eq!(
        (retry.total, &retry.calls),
        (4, &expected),
        "a retried send: expected 4 calls {expected:?}, measured {} {:?}",
        retry.total,
        retry.calls
    );
}

// ---------------------------------------------------------------------------------------------
// WebSocket routes
// ---------------------------------------------------------------------------------------------

const WS_TABLE_START: &str = "<!-- ws-calls-per-route:start -->";
const WS_TABLE_END: &str = "<!-- ws-calls-per-route:end -->";

/// The rows of the WebSocket routes' calls table: function, route key, calls.
fn documented_ws_rows() -> Vec<(String, String, usize)> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("docs").join("DATA_MODEL.md");
    let text =
        fs::read_to_string(&file).unwrap_or_else(|error| panic!("cannot read {}: {error}", file.display()));
    let start =
        text.find(WS_TABLE_START).unwrap_or_else(|| panic!("docs/DATA_MODEL.md lacks {WS_TABLE_START}"));
    let end = text.find(WS_TABLE_END).unwrap_or_else(|| panic!("docs/DATA_MODEL.md lacks {WS_TABLE_END}"));
    let mut lines = text[start + WS_TABLE_START.len()..end].lines().map(str::trim).filter(|l| !l.is_empty());
    assert_eq!(cells(lines.next().expect("a header")), ["function", "route", "calls", "requests"]);
    lines.next().expect("a separator");
    lines
        .map(|line| match cells(line).as_slice() {
            [function, route, calls, _] => (
                function.clone(),
                route.trim_matches('`').to_owned(),
                calls.parse().unwrap_or_else(|_| panic!("the calls of {function} are not a number: {calls}")),
            ),
            other => panic!("a WebSocket calls row has {} cells, not 4: {line}", other.len()),
        })
        .collect()
}

/// The scenario of the WebSocket table: the customer's active session, the agent connected and
/// subscribed to it. Returns the session and the agent's socket.
async fn ws_scenario(api: &TestApi) -> (String, switchboard_tests::WsClient) {
    let session = active_session(api).await;
    let mut agent_socket = api.connect(&api.token(AGENT, Role::Agent)).await;
    assert_eq!(agent_socket.subscribe(&session).await["type"], "subscribed");
    (session, agent_socket)
}

/// Measures one frame (or the connect, or the disconnect) of `function` in its scenario.
async fn measure_ws(api: &TestApi, function: &str) -> Option<usize> {
    let (session, mut agent_socket) = ws_scenario(api).await;
    let customer_token = api.token(CUSTOMER, Role::Customer);
    if function == "realtime-connect" {
        api.store.reset();
        let _socket = api.connect(&customer_token).await;
        return Some(api.store.total());
    }
    let mut socket = api.connect(&customer_token).await;
    assert_eq!(agent_socket.expect("presence").await["status"], "online");
    let message = send(api, &session, "measured").await;
    let frame = match function {
        "realtime-disconnect" => {
            api.store.reset();
            socket.close().await;
            // The agent hears the customer go offline: the last thing `$disconnect` does.
            assert_eq!(agent_socket.expect("presence").await["status"], "offline");
            return Some(api.store.total());
        }
        "realtime-default" => json!({"action": "no_such_action"}),
        "realtime-subscribe" => json!({"action": "subscribe", "session_id": session}),
        "realtime-send-message" => json!({"action": "send_message", "session_id": session, "body": "hello"}),
        "realtime-typing" => json!({"action": "typing", "session_id": session, "state": "start"}),
        "realtime-mark-read" => {
            let frame = json!({"action": "mark_read", "session_id": session, "message_id": message});
            api.store.reset();
            let reply = agent_socket.request(frame).await;
            assert_eq!(reply["type"], "ack", "{reply}");
            return Some(api.store.total());
        }
        "realtime-ping" => json!({"action": "ping"}),
        "realtime-subscribe-dashboard" => {
            api.store.reset();
            let reply = agent_socket.request(json!({"action": "subscribe_dashboard"})).await;
            assert_eq!(reply["type"], "dashboard.metrics", "{reply}");
            return Some(api.store.total());
        }
        _ => return None,
    };
    api.store.reset();
    let reply = socket.request(frame).await;
    let expected = match function {
        "realtime-default" => "error",
        "realtime-subscribe" => "subscribed",
        "realtime-send-message" => "message.created",
        "realtime-typing" => "ack",
        _ => "pong",
    };
    assert_eq!(reply["type"], expected, "{function}: {reply}");
    Some(api.store.total())
}

#[test]
fn every_websocket_function_has_one_documented_call_count_under_its_route() {
    // Arrange
    let rows = documented_ws_rows();
    let routes: BTreeMap<String, String> = switchboard_local::template::ws_routes(TEMPLATE)
        .expect("the template's WebSocket routes")
        .into_iter()
        .map(|route| (route.binary, route.route_key))
        .collect();

    // Act
    let documented: BTreeMap<String, String> = rows.iter().map(|(f, r, _)| (f.clone(), r.clone())).collect();

    // Assert
    assert_eq!(rows.len(), documented.len(), "a WebSocket function has more than one row");
    assert_eq!(documented, routes, "the WebSocket calls table and the template's routes differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_websocket_route_makes_exactly_its_documented_calls() {
    let mut problems = Vec::new();
    let mut report = Vec::new();
    for (function, _, documented) in documented_ws_rows() {
        let api = TestApi::start(Backend::Sqlite).await;
        let Some(measured) = measure_ws(&api, &function).await else {
            problems.push(format!("{function}: this test has no scenario for it; add one"));
            continue;
        };
        report.push(format!("{function:<24} documented {documented} measured {measured}"));
        if measured != documented {
            problems.push(format!("{function}: documented {documented} calls, measured {measured}"));
        }
    }
    assert!(problems.is_empty(), "{}\n\nall measurements:\n{}", problems.join("\n"), report.join("\n"));
}

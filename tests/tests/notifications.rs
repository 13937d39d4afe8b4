//! Notification preferences over real HTTP, on SQLite and on DynamoDB (moto): defaults, replace,
//! per-user isolation, and every kind of bad input refused with nothing written; sends, and bulk
//! sends as jobs whose progress is polled.

use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;

use switchboard_shared::domain::push::Category;
use switchboard_shared::domain::{JobId, Principal, UserId};
use switchboard_shared::jobs::BulkChunk;
use switchboard_shared::ops::bulk::run_chunk;
use switchboard_shared::ops::{register_device, Notification, RegisterDevice};
use switchboard_shared::push::{DeviceToken, Platform};
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::repo::jobs::{self, JobRecord};
use switchboard_shared::App;
use switchboard_tests::{Backend, Caller, Reply, TestApi};

fn user(id: &str) -> UserId {
    UserId::parse(id).expect("a user id")
}

const PATH: &str = "/notifications/preferences";

fn defaults() -> Value {
    json!({"chat_message": true, "session_update": true, "announcement": true, "email": true, "quiet_hours": null, "muted_sessions": []})
}

switchboard_tests::on_both_backends!(
    new_messages_push_participants_who_are_not_connected_at_most_once_a_minute,
    chat_pushes_coalesce_to_one_a_minute_carrying_the_count,
    assignment_and_closing_push_the_other_participant,
    an_admins_send_respects_each_recipients_choices_and_logs_every_attempt,
    sending_is_for_admins_and_bad_sends_change_nothing,
    a_retried_bulk_send_with_its_idempotency_key_is_the_same_job_and_pushes_nobody_twice,
    a_chunk_delivered_again_pushes_nobody_twice,
    a_chunk_redelivered_after_a_crash_pushes_only_the_recipients_not_claimed,
    the_worker_reads_a_chunks_recipients_in_batches,
    bulk_jobs_are_read_by_admins_only_and_unknown_ones_are_404,
    registering_a_device_is_idempotent_and_a_moved_token_is_re_owned,
    bad_device_requests_are_refused_and_change_nothing,
    a_user_who_never_chose_gets_the_defaults,
    preferences_are_replaced_and_read_back_per_user,
    bad_preferences_are_refused_and_change_nothing,
);

async fn a_user_who_never_chose_gets_the_defaults(backend: Backend) {
    let api = TestApi::start(backend).await;
    for caller in Caller::ALL {
        let reply = caller.call(&api, Method::GET, PATH, None).await;
        assert_eq!((reply.status, &reply.body), (200, &defaults()), "{caller:?}");
    }
}

async fn preferences_are_replaced_and_read_back_per_user(backend: Backend) {
    let api = TestApi::start(backend).await;
    let chosen = json!({
        "chat_message": true,
        "session_update": false,
        "announcement": true,
        "email": false,
        "quiet_hours": {"start": "22:30", "end": "06:45", "time_zone": "America/Sao_Paulo"},
        "muted_sessions": ["01JD0000000000000000000004", "01JD0000000000000000000002"],
    });
    let put = Caller::AgentX.call(&api, Method::PUT, PATH, Some(chosen.clone())).await;
    assert_eq!((put.status, &put.body), (200, &chosen));
    assert_eq!(Caller::AgentX.call(&api, Method::GET, PATH, None).await.body, chosen);
    // Someone else's are untouched.
    assert_eq!(Caller::AgentY.call(&api, Method::GET, PATH, None).await.body, defaults());

    // A PUT replaces: what it leaves out takes the default; a repeated mute is kept once.
    let partial = json!({"announcement": false, "muted_sessions": ["01JD0000000000000000000004", "01JD0000000000000000000004"]});
    let put = Caller::AgentX.call(&api, Method::PUT, PATH, Some(partial)).await;
    let expected = json!({"chat_message": true, "session_update": true, "announcement": false, "email": true, "quiet_hours": null,
        "muted_sessions": ["01JD0000000000000000000004"]});
    assert_eq!((put.status, &put.body), (200, &expected));
    assert_eq!(Caller::AgentX.call(&api, Method::GET, PATH, None).await.body, expected);
}

async fn bad_preferences_are_refused_and_change_nothing(backend: Backend) {
    let api = TestApi::start(backend).await;
    let chosen = json!({"announcement": false});
    assert_eq!(Caller::CustomerA.call(&api, Method::PUT, PATH, Some(chosen)).await.status, 200);
    let before = Caller::CustomerA.call(&api, Method::GET, PATH, None).await.body;
    let too_many: Vec<String> = (0..201).map(|n| format!("01JD{n:022}")).collect();
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"quiet_hours": {"start": "22:00", "end": "07:00", "time_zone": "Mars/Olympus_Mons"}}),
            422,
            "validation_failed",
        ),
        (
            json!({"quiet_hours": {"start": "24:00", "end": "07:00", "time_zone": "UTC"}}),
            422,
            "validation_failed",
        ),
        (
            json!({"quiet_hours": {"start": "10pm", "end": "07:00", "time_zone": "UTC"}}),
            422,
            "validation_failed",
        ),
        (json!({"quiet_hours": {"start": "22:00", "end": "07:00"}}), 422, "validation_failed"),
        (
            json!({"quiet_hours": {"start": "22:00", "end": "07:00", "time_zone": "UTC", "days": "weekdays"}}),
            422,
            "validation_failed",
        ),
        (json!({"sms": true}), 422, "validation_failed"),
        (json!({"chat_message": "yes"}), 422, "validation_failed"),
        (json!({"muted_sessions": ["not-a-session"]}), 422, "validation_failed"),
        (json!({"muted_sessions": too_many}), 422, "validation_failed"),
        (json!(["chat_message"]), 422, "validation_failed"),
    ];
    for (body, status, code) in cases {
        let reply = Caller::CustomerA.call(&api, Method::PUT, PATH, Some(body.clone())).await;
        assert_eq!((reply.status, reply.error_code()), (status, code), "{body} → {:?}", reply.body);
    }
    let malformed = api
        .call_with_header(Method::PUT, PATH, Some(&format!("Bearer {}", Caller::CustomerA.token(&api))), None)
        .await;
    assert_eq!(malformed.status, 400, "{:?}", malformed.body);
    assert_eq!(
        Caller::CustomerA.call(&api, Method::GET, PATH, None).await.body,
        before,
        "a refused PUT wrote"
    );
}

const REGISTER: &str = "/notifications/devices/register";
const UNREGISTER: &str = "/notifications/devices/unregister";

async fn registering_a_device_is_idempotent_and_a_moved_token_is_re_owned(backend: Backend) {
    let api = TestApi::start(backend).await;
    let phone = json!({"token": "fcm-token-shared-tablet", "platform": "android", "app_version": "1.4.0"});
    let first = Caller::CustomerA.call(&api, Method::POST, REGISTER, Some(phone.clone())).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(
        (first.body["user_id"].as_str(), first.body["platform"].as_str()),
        (Some("cust-ada"), Some("android"))
    );
    assert_eq!(first.body["enabled"], true);
    let endpoint = first.body["endpoint_arn"].clone();
    assert!(endpoint.as_str().is_some_and(|arn| !arn.is_empty()));

    // Again: the same endpoint, the same registration time.
    let again = Caller::CustomerA.call(&api, Method::POST, REGISTER, Some(phone.clone())).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["endpoint_arn"], endpoint);
    assert_eq!(again.body["registered_at"], first.body["registered_at"]);
    assert_eq!(again.body["device_id"], first.body["device_id"]);

    // The tablet changes hands: the token is now customer B's, on the same endpoint.
    let moved = Caller::CustomerB.call(&api, Method::POST, REGISTER, Some(phone)).await;
    assert_eq!(moved.status, 200);
    assert_eq!(moved.body["user_id"], "cust-bob");
    assert_eq!(moved.body["endpoint_arn"], endpoint);
    let gone = Caller::CustomerA
        .call(&api, Method::POST, UNREGISTER, Some(json!({"token": "fcm-token-shared-tablet"})))
        .await;
    assert_eq!((gone.status, gone.error_code()), (404, "device_not_found"));

    let removed = Caller::CustomerB
        .call(&api, Method::POST, UNREGISTER, Some(json!({"token": "fcm-token-shared-tablet"})))
        .await;
    assert_eq!((removed.status, &removed.body["device_id"]), (200, &first.body["device_id"]));
    let twice = Caller::CustomerB
        .call(&api, Method::POST, UNREGISTER, Some(json!({"token": "fcm-token-shared-tablet"})))
        .await;
    assert_eq!(twice.status, 404);
}

async fn bad_device_requests_are_refused_and_change_nothing(backend: Backend) {
    let api = TestApi::start(backend).await;
    let long = "x".repeat(4097);
    let cases: Vec<(&str, Value, &str)> = vec![
        (REGISTER, json!({"token": "", "platform": "android"}), "validation_failed"),
        (REGISTER, json!({"token": long, "platform": "android"}), "validation_failed"),
        (REGISTER, json!({"token": "has space", "platform": "android"}), "validation_failed"),
        (REGISTER, json!({"token": "fcm-ok", "platform": "blackberry"}), "validation_failed"),
        (REGISTER, json!({"token": "fcm-ok"}), "validation_failed"),
        (
            REGISTER,
            json!({"token": "fcm-ok", "platform": "ios", "app_version": "v".repeat(65)}),
            "validation_failed",
        ),
        (REGISTER, json!({"token": "fcm-ok", "platform": "ios", "push": true}), "validation_failed"),
        (UNREGISTER, json!({}), "validation_failed"),
        (UNREGISTER, json!({"token": ""}), "validation_failed"),
    ];
    for (path, body, code) in cases {
        api.store.reset();
        let reply = Caller::CustomerA.call(&api, Method::POST, path, Some(body.clone())).await;
        assert_eq!((reply.status, reply.error_code()), (422, code), "{path} {body} → {:?}", reply.body);
        assert_eq!(api.store.total(), 0, "{path} {body}: the store was called");
    }
}

/// Quiet hours around the current time in UTC, so they hold whenever the test runs.
fn quiet_now() -> Value {
    let now = time::OffsetDateTime::now_utc();
    let at = |minutes: i64| {
        let t = now + time::Duration::minutes(minutes);
        format!("{:02}:{:02}", t.hour(), t.minute())
    };
    json!({"start": at(-60), "end": at(60), "time_zone": "UTC"})
}

async fn register(api: &TestApi, caller: Caller, token: &str) {
    let body = json!({"token": token, "platform": "android"});
    let reply = caller.call(api, Method::POST, REGISTER, Some(body)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

async fn an_admins_send_respects_each_recipients_choices_and_logs_every_attempt(backend: Backend) {
    let api = TestApi::start(backend).await;
    let session = switchboard_tests::open_session(&api, Caller::CustomerB, "muted one").await;
    // Customer A: a phone, no choices. Customer B: a phone, mutes the session. Agent X: a phone,
    // quiet hours now. Agent Y: a phone, announcements off. The admin: no device.
    for (caller, token) in [
        (Caller::CustomerA, "tok-a"),
        (Caller::CustomerB, "tok-b"),
        (Caller::AgentX, "tok-x"),
        (Caller::AgentY, "tok-y"),
    ] {
        register(&api, caller, token).await;
    }
    let prefs = [
        (Caller::CustomerB, json!({"muted_sessions": [session]})),
        (Caller::AgentX, json!({"quiet_hours": quiet_now()})),
        (Caller::AgentY, json!({"session_update": false})),
    ];
    for (caller, body) in prefs {
        assert_eq!(caller.call(&api, Method::PUT, PATH, Some(body)).await.status, 200);
    }
    let everyone: Vec<&str> = Caller::ALL.iter().map(|c| c.id()).collect();
    let body = json!({"user_ids": everyone, "category": "session_update", "title": "Your session", "body": "An update",
        "session_id": session, "data": {"kind": "test"}});
    let reply = Caller::Admin.call(&api, Method::POST, "/notifications/bulk-send", Some(body)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert_eq!((reply.body["total"].as_u64(), reply.body["done"].as_bool()), (Some(5), Some(false)));
    let summary = &job_when_done(&api, &reply).await;
    assert_eq!(
        (summary["sent"].as_u64(), summary["failed"].as_u64(), summary["skipped"].as_u64()),
        (Some(1), Some(0), Some(4))
    );
    assert_eq!(summary["status"], "done");
    // Each recipient sees their own log; the sent one carries the exact message published.
    let statuses = [
        (Caller::CustomerA, "sent"),
        (Caller::CustomerB, "skipped_muted"),
        (Caller::AgentX, "skipped_quiet_hours"),
        (Caller::AgentY, "skipped_preference"),
        (Caller::Admin, "skipped_no_device"),
    ];
    for (caller, status) in statuses {
        let logs = caller.call(&api, Method::GET, "/notifications/delivery-logs", None).await;
        assert_eq!(logs.status, 200);
        assert_eq!(logs.body["items"][0]["status"], status, "{caller:?}: {:?}", logs.body);
        assert_eq!(logs.body["items"][0]["job_id"], summary["job_id"]);
    }
    let logs = Caller::CustomerA.call(&api, Method::GET, "/notifications/delivery-logs", None).await;
    let payload = &logs.body["items"][0]["payload"];
    let fcm: Value =
        serde_json::from_str(payload["GCM"].as_str().expect("a GCM payload")).expect("GCM is JSON");
    assert_eq!(
        fcm["fcmV1Message"]["message"]["notification"],
        json!({"title": "Your session", "body": "An update"})
    );
    assert_eq!(fcm["fcmV1Message"]["message"]["data"]["session_id"], session.as_str());
    assert_eq!(fcm["fcmV1Message"]["message"]["data"]["kind"], "test");
    let apns: Value =
        serde_json::from_str(payload["APNS"].as_str().expect("an APNS payload")).expect("APNS is JSON");
    assert_eq!(apns["aps"]["alert"]["title"], "Your session");
    assert_eq!(apns["job_id"], summary["job_id"]);

    // The admin reads the whole job; nobody else may.
    let job =
        format!("/notifications/delivery-logs?job_id={}", summary["job_id"].as_str().unwrap_or_default());
    let all = Caller::Admin.call(&api, Method::GET, &job, None).await;
    assert_eq!(all.body["items"].as_array().map(Vec::len), Some(5));
    assert_eq!(Caller::CustomerA.call(&api, Method::GET, &job, None).await.status, 403);
    let others = Caller::CustomerA
        .call(&api, Method::GET, "/notifications/delivery-logs?user_id=cust-bob", None)
        .await;
    assert_eq!(others.status, 403);
    let theirs =
        Caller::Admin.call(&api, Method::GET, "/notifications/delivery-logs?user_id=cust-bob", None).await;
    assert_eq!(theirs.body["items"][0]["status"], "skipped_muted");
}

async fn sending_is_for_admins_and_bad_sends_change_nothing(backend: Backend) {
    let api = TestApi::start(backend).await;
    let ok = json!({"user_id": "cust-ada", "title": "Hi", "body": "There"});
    for caller in [Caller::CustomerA, Caller::AgentX] {
        api.store.reset();
        let reply = caller.call(&api, Method::POST, "/notifications/send", Some(ok.clone())).await;
        assert_eq!((reply.status, reply.error_code()), (403, "forbidden"), "{caller:?}");
        assert_eq!(api.store.total(), 0, "a refused send touched the store");
    }
    let too_many: Vec<String> = (0..10_001).map(|n| format!("user-{n}")).collect();
    let euro = "€".repeat(256);
    let big_data: serde_json::Map<String, Value> =
        (0..10).map(|n| (format!("k{n}"), Value::String(euro.clone()))).collect();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/notifications/send",
            json!({"user_id": "cust-ada", "title": "", "body": "x"}),
            "validation_failed",
        ),
        (
            "/notifications/send",
            json!({"user_id": "cust-ada", "title": "x", "body": "b".repeat(241)}),
            "validation_failed",
        ),
        (
            "/notifications/send",
            json!({"user_id": "cust#ada", "title": "x", "body": "y"}),
            "validation_failed",
        ),
        (
            "/notifications/send",
            json!({"user_id": "cust-ada", "title": "x", "body": "y", "category": "spam"}),
            "validation_failed",
        ),
        (
            "/notifications/send",
            json!({"user_id": "cust-ada", "title": "x", "body": "y", "priority": 1}),
            "validation_failed",
        ),
        (
            "/notifications/send",
            json!({"user_id": "cust-ada", "title": "x", "body": "y", "data": big_data}),
            "notification_too_large",
        ),
        ("/notifications/bulk-send", json!({"user_ids": [], "title": "x", "body": "y"}), "validation_failed"),
        (
            "/notifications/bulk-send",
            json!({"user_ids": too_many, "title": "x", "body": "y"}),
            "validation_failed",
        ),
    ];
    for (path, body, code) in cases {
        api.store.reset();
        let reply = Caller::Admin.call(&api, Method::POST, path, Some(body)).await;
        assert_eq!((reply.status, reply.error_code()), (422, code), "{path}: {:?}", reply.body);
        assert_eq!(api.store.total(), 0, "{path}: a refused send touched the store");
    }
    let both =
        Caller::Admin.call(&api, Method::GET, "/notifications/delivery-logs?user_id=a&job_id=b", None).await;
    assert_eq!((both.status, both.error_code()), (400, "invalid_filter"));
}

/// The job of a 202 once every recipient is counted, read through `GET /notifications/jobs/{id}`
/// a bounded number of times while the worker runs.
async fn job_when_done(api: &TestApi, started: &Reply) -> Value {
    let path = format!("/notifications/jobs/{}", started.body["job_id"].as_str().expect("a job id"));
    for _ in 0..1_200 {
        let job = Caller::Admin.call(api, Method::GET, &path, None).await;
        assert_eq!(job.status, 200, "{:?}", job.body);
        if job.body["done"] == true {
            return job.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{path} was not done after 1,200 polls");
}

/// `POST /notifications/bulk-send` as the admin with an `Idempotency-Key`.
async fn bulk_send_with_key(api: &TestApi, key: &str, body: &Value) -> Reply {
    let response = api
        .client
        .post(format!("{}/notifications/bulk-send", api.base))
        .bearer_auth(Caller::Admin.token(api))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .expect("the gateway answers");
    let status = response.status().as_u16();
    Reply { status, body: response.json().await.unwrap_or(Value::Null) }
}

async fn job_logs(api: &TestApi, job: &Value) -> Vec<Value> {
    let path = format!("/notifications/delivery-logs?job_id={}", job.as_str().expect("a job id"));
    let reply = Caller::Admin.call(api, Method::GET, &path, None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["items"].as_array().cloned().unwrap_or_default()
}

async fn a_retried_bulk_send_with_its_idempotency_key_is_the_same_job_and_pushes_nobody_twice(
    backend: Backend,
) {
    // Arrange
    let api = TestApi::start(backend).await;
    register(&api, Caller::CustomerA, "tok-retry").await;
    let body = json!({"user_ids": ["cust-ada", "agent-x"], "title": "Maintenance", "body": "Tonight"});
    let first = bulk_send_with_key(&api, "retry-1", &body).await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    job_when_done(&api, &first).await;

    // Act
    let retry = bulk_send_with_key(&api, "retry-1", &body).await;
    let other = json!({"user_ids": ["cust-ada"], "title": "Something else", "body": "Tonight"});
    let reused = bulk_send_with_key(&api, "retry-1", &other).await;
    let bad_key = bulk_send_with_key(&api, &"k".repeat(65), &body).await;

    // Assert
    assert_eq!(retry.status, 202, "{:?}", retry.body);
    assert_eq!(retry.body["job_id"], first.body["job_id"], "a retry is the same job");
    let done = job_when_done(&api, &retry).await;
    assert_eq!((done["sent"].as_u64(), done["skipped"].as_u64()), (Some(1), Some(1)));
    assert_eq!(job_logs(&api, &first.body["job_id"]).await.len(), 2, "one log per recipient");
    assert_eq!(logs_of(&api, Caller::CustomerA).await.len(), 1, "cust-ada was pushed once");
    assert_eq!((reused.status, reused.error_code()), (409, "idempotency_key_reused"));
    assert_eq!((bad_key.status, bad_key.error_code()), (400, "invalid_idempotency_key"));
}

async fn a_chunk_delivered_again_pushes_nobody_twice(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    register(&api, Caller::CustomerA, "tok-again").await;
    let body = json!({"user_ids": ["cust-ada", "agent-x"], "title": "Maintenance", "body": "Tonight"});
    let started = Caller::Admin.call(&api, Method::POST, "/notifications/bulk-send", Some(body)).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    let before = job_when_done(&api, &started).await;
    let app = App::new(api.store.clone(), Arc::new(ApiGatewayRealtime::for_endpoint(&api.root)));
    let job_id = started.body["job_id"].as_str().expect("a job id").to_owned();
    let chunk = BulkChunk { job_id, user_ids: vec![user("cust-ada"), user("agent-x")] };

    // Act: the queue delivers the chunk twice more.
    run_chunk(&app, &chunk).await.expect("a second delivery");
    run_chunk(&app, &chunk).await.expect("a third delivery");

    // Assert
    let after = job_when_done(&api, &started).await;
    assert_eq!(after, before, "the counts did not move");
    assert_eq!(job_logs(&api, &started.body["job_id"]).await.len(), 2, "one log per recipient");
    assert_eq!(logs_of(&api, Caller::CustomerA).await.len(), 1, "cust-ada was pushed once");
}

/// A bulk send of an announcement to `total` recipients, as the request stores it, not yet worked on.
fn announcement_job(total: usize) -> JobRecord {
    JobRecord {
        job_id: JobId::generate(),
        created_by: user(Caller::Admin.id()),
        created_at: switchboard_shared::domain::now(),
        notification: Notification {
            category: Category::Announcement,
            title: "Maintenance".into(),
            body: "Tonight".into(),
            session_id: None,
            data: Default::default(),
        },
        total,
        sent: 0,
        failed: 0,
        skipped: 0,
        enqueued: true,
        request_hash: String::new(),
    }
}

async fn a_chunk_redelivered_after_a_crash_pushes_only_the_recipients_not_claimed(backend: Backend) {
    // Arrange: a job of two recipients with a phone each; a first delivery of its chunk claimed
    // the customer and then stopped (the worker crashed).
    let api = TestApi::start(backend).await;
    let app = App::new(api.store.clone(), Arc::new(ApiGatewayRealtime::for_endpoint(&api.root)));
    for caller in [Caller::CustomerA, Caller::AgentX] {
        let principal = Principal { user_id: user(caller.id()), role: caller.role(), name: None };
        let phone = RegisterDevice {
            token: DeviceToken::parse(&format!("tok-crash-{}", caller.id())).expect("a token"),
            platform: Platform::Android,
            app_version: None,
        };
        register_device(&app, &principal, phone).await.expect("a phone");
    }
    let recipients = vec![user(Caller::CustomerA.id()), user(Caller::AgentX.id())];
    let job = announcement_job(recipients.len());
    let store = api.store.as_ref();
    jobs::create(store, &job, None).await.expect("store the job");
    let at = switchboard_shared::domain::now();
    let first = jobs::claim_many(store, &job.job_id, &recipients[..1], at).await.expect("claim");
    let chunk = BulkChunk { job_id: job.job_id.to_string(), user_ids: recipients.clone() };

    // Act: the queue delivers the chunk again.
    run_chunk(&app, &chunk).await.expect("the redelivery");

    // Assert: the agent is pushed and counted; the customer, claimed by the first delivery, is not
    // pushed again, and counts as failed (claimed, never pushed), so the job is done.
    assert_eq!(first, vec![user(Caller::CustomerA.id())]);
    let done = jobs::get(store, &job.job_id).await.expect("read").expect("the job");
    assert_eq!((done.sent, done.failed, done.skipped), (1, 1, 0));
    let logs = job_logs(&api, &json!(job.job_id.to_string())).await;
    let pushed: Vec<_> = logs.iter().map(|l| (l["user_id"].as_str(), l["status"].as_str())).collect();
    assert_eq!(pushed, vec![(Some(Caller::AgentX.id()), Some("sent"))]);
    assert!(jobs::claim_many(store, &job.job_id, &recipients, at).await.expect("claim").is_empty());
}

async fn the_worker_reads_a_chunks_recipients_in_batches(backend: Backend) {
    // Arrange: a job of 100 recipients without a device, not yet worked on.
    let api = TestApi::start(backend).await;
    let users: Vec<UserId> = (0..100).map(|n| user(&format!("user-{n}"))).collect();
    let job = announcement_job(users.len());
    jobs::create(api.store.as_ref(), &job, None).await.expect("store the job");
    let app = App::new(api.store.clone(), Arc::new(ApiGatewayRealtime::for_endpoint(&api.root)));
    let chunk = BulkChunk { job_id: job.job_id.to_string(), user_ids: users };
    api.store.reset();

    // Act
    run_chunk(&app, &chunk).await.expect("the chunk");

    // Assert: the job, two BatchGetItem (preferences, blocks) and one devices query each — not
    // a GetItem of preferences and of block per recipient; the claims in one transaction and the
    // counts with the chunk's marker in one more — not a claim and a counter update per recipient.
    let calls = api.store.calls();
    assert_eq!(
        (calls.get("get"), calls.get("batch_get"), calls.get("query")),
        (Some(&1), Some(&2), Some(&100)),
        "{calls:?}"
    );
    assert_eq!((calls.get("transact_write"), calls.get("update")), (Some(&2), None), "{calls:?}");
    let done = jobs::get(api.store.as_ref(), &job.job_id).await.expect("read").expect("the job");
    assert_eq!((done.skipped, done.sent, done.failed), (100, 0, 0));
}

async fn bulk_jobs_are_read_by_admins_only_and_unknown_ones_are_404(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let body = json!({"user_ids": ["cust-ada"], "title": "Maintenance", "body": "Tonight"});
    let started =
        Caller::Admin.call(&api, Method::POST, "/notifications/bulk-send", Some(body.clone())).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    let path = format!("/notifications/jobs/{}", started.body["job_id"].as_str().expect("a job id"));

    // Act
    let by_customer = Caller::CustomerA.call(&api, Method::GET, &path, None).await;
    let by_agent = Caller::AgentX.call(&api, Method::GET, &path, None).await;
    let started_by_agent =
        Caller::AgentX.call(&api, Method::POST, "/notifications/bulk-send", Some(body)).await;
    let unknown =
        Caller::Admin.call(&api, Method::GET, "/notifications/jobs/01JD0000000000000000000099", None).await;
    let malformed = Caller::Admin.call(&api, Method::GET, "/notifications/jobs/not-a-job", None).await;

    // Assert
    assert_eq!((by_customer.status, by_customer.error_code()), (403, "forbidden"));
    assert_eq!((by_agent.status, by_agent.error_code()), (403, "forbidden"));
    assert_eq!((started_by_agent.status, started_by_agent.error_code()), (403, "forbidden"));
    assert_eq!((unknown.status, unknown.error_code()), (404, "job_not_found"));
    assert_eq!((malformed.status, malformed.error_code()), (400, "invalid_id"));
    assert_eq!(job_when_done(&api, &started).await["skipped"], 1);
}

/// Ten thousand recipients in one bulk send (a hundred with a phone), each handled and logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_send_reaches_ten_thousand_recipients() {
    let api = TestApi::start(Backend::Sqlite).await;
    for n in 0..100 {
        let body = json!({"token": format!("tok-{n}"), "platform": "ios"});
        let reply = api
            .as_user(
                &format!("user-{n}"),
                switchboard_shared::domain::Role::Customer,
                Method::POST,
                REGISTER,
                Some(body),
            )
            .await;
        assert_eq!(reply.status, 200);
    }
    let users: Vec<String> = (0..10_000).map(|n| format!("user-{n}")).collect();
    let body = json!({"user_ids": users, "title": "Outage over", "body": "All systems normal"});
    let reply = Caller::Admin.call(&api, Method::POST, "/notifications/bulk-send", Some(body)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let done = job_when_done(&api, &reply).await;
    assert_eq!((done["total"].as_u64(), done["sent"].as_u64()), (Some(10_000), Some(100)));
    assert_eq!((done["skipped"].as_u64(), done["failed"].as_u64()), (Some(9_900), Some(0)));
    let job = format!(
        "/notifications/delivery-logs?job_id={}&limit=200",
        reply.body["job_id"].as_str().unwrap_or_default()
    );
    let first_page = Caller::Admin.call(&api, Method::GET, &job, None).await;
    assert_eq!(first_page.body["items"].as_array().map(Vec::len), Some(200));
    assert!(first_page.body["next_cursor"].is_string());
}

/// The caller's delivery logs once the change feed's reactions (chat pushes) are done.
async fn logs_of(api: &TestApi, caller: Caller) -> Vec<Value> {
    api.settle().await;
    let reply = caller.call(api, Method::GET, "/notifications/delivery-logs", None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["items"].as_array().cloned().unwrap_or_default()
}

async fn new_messages_push_participants_who_are_not_connected_at_most_once_a_minute(backend: Backend) {
    let api = TestApi::start(backend).await;
    let world = switchboard_tests::assigned_session(&api).await;
    // The world's messages had their reactions before the phone is registered.
    api.settle().await;
    register(&api, Caller::AgentX, "tok-agent").await;
    let before = logs_of(&api, Caller::AgentX).await.len();
    for text in ["one", "two", "three"] {
        switchboard_tests::send(&api, Caller::CustomerA, &world.session, text).await;
    }
    let logs = logs_of(&api, Caller::AgentX).await;
    assert_eq!(logs.len(), before + 1, "one push for a burst: {logs:?}");
    let push = &logs[0];
    assert_eq!((push["category"].as_str(), push["status"].as_str()), (Some("chat_message"), Some("sent")));
    let fcm: Value =
        serde_json::from_str(push["payload"]["GCM"].as_str().unwrap_or_default()).expect("GCM JSON");
    assert_eq!(fcm["fcmV1Message"]["message"]["data"]["session_id"], world.session.as_str());
    assert_eq!(fcm["fcmV1Message"]["message"]["data"]["count"], "1");
    // The sender is never pushed about their own message.
    assert!(logs_of(&api, Caller::CustomerA).await.is_empty());

    // Once the agent is connected (the app is open), nothing is pushed to them.
    let other = switchboard_tests::open_session(&api, Caller::CustomerA, "another question").await;
    switchboard_tests::on_duty(&api, Caller::AgentX.id()).await;
    let take = format!("/admin/chat-dashboard/sessions/{other}/assign");
    switchboard_tests::arranged(
        Caller::AgentX.call(&api, Method::POST, &take, Some(json!({}))).await,
        200,
        "assign",
    );
    let _socket = api.connect(&Caller::AgentX.token(&api)).await;
    switchboard_tests::send(&api, Caller::CustomerA, &other, "are you there?").await;
    assert_eq!(logs_of(&api, Caller::AgentX).await.len(), before + 1, "a connected user was pushed");
}

async fn chat_pushes_coalesce_to_one_a_minute_carrying_the_count(backend: Backend) {
    use switchboard_shared::domain::{MessageId, SessionId, UserId};
    use switchboard_shared::repo::coalesce;
    let api = TestApi::start(backend).await;
    let store: &dyn switchboard_shared::store::ItemStore = api.store.as_ref();
    let user = UserId::parse("agent-xena").expect("id");
    let session = SessionId::generate();
    let t0 = 1_800_000_000_000_i64;
    // A push is due at most once a minute and announces every message since the previous one.
    let steps = [
        (0, Some(1)),
        (10_000, None),
        (30_000, None),
        (59_999, None),
        (61_000, Some(4)),
        (62_000, None),
        (125_000, Some(2)),
    ];
    let mut last = MessageId::generate();
    for (offset, expected) in steps {
        last = MessageId::generate();
        let due = coalesce::message_for(store, &user, &session, &last, t0 + offset).await.expect("coalesce");
        assert_eq!(due, expected, "at +{offset} ms");
    }
    // A message counted again (its change delivered twice) is not counted twice.
    let again = coalesce::message_for(store, &user, &session, &last, t0 + 190_000).await.expect("coalesce");
    assert_eq!(again, None, "a message counted before");
    let next = MessageId::generate();
    let due = coalesce::message_for(store, &user, &session, &next, t0 + 190_000).await.expect("coalesce");
    assert_eq!(due, Some(1), "only the new message is announced");
    // Another session of the same user is counted apart.
    let other = SessionId::generate();
    assert_eq!(
        coalesce::message_for(store, &user, &other, &MessageId::generate(), t0).await.expect("coalesce"),
        Some(1)
    );
}

async fn assignment_and_closing_push_the_other_participant(backend: Backend) {
    let api = TestApi::start(backend).await;
    let session = switchboard_tests::open_session(&api, Caller::CustomerA, "help").await;
    register(&api, Caller::CustomerA, "tok-customer").await;
    switchboard_tests::on_duty(&api, Caller::AgentX.id()).await;
    let take = format!("/admin/chat-dashboard/sessions/{session}/assign");
    switchboard_tests::arranged(
        Caller::AgentX.call(&api, Method::POST, &take, Some(json!({}))).await,
        200,
        "assign",
    );
    api.settle().await;
    let logs = logs_of(&api, Caller::CustomerA).await;
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(
        (logs[0]["category"].as_str(), logs[0]["status"].as_str()),
        (Some("session_update"), Some("sent"))
    );
    let close = format!("/chat/sessions/{session}/close");
    switchboard_tests::arranged(Caller::AgentX.call(&api, Method::POST, &close, None).await, 200, "close");
    api.settle().await;
    let logs = logs_of(&api, Caller::CustomerA).await;
    assert_eq!(logs.len(), 2);
    let apns: Value =
        serde_json::from_str(logs[0]["payload"]["APNS"].as_str().unwrap_or_default()).expect("APNS JSON");
    assert_eq!(apns["status"], "closed");
    // The agent closed it: no push to the agent.
    assert!(logs_of(&api, Caller::AgentX).await.is_empty());
}

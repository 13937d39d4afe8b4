//! The store failing, over a real network fault and a real file lock: every request answers 503
//! `store_unavailable` with `Retry-After` (the health probe 503 `degraded`), a WebSocket connect
//! is refused and a frame answered with an `error` frame, and nothing is written. On DynamoDB a
//! TCP proxy between the gateway and the moto server refuses, resets, hangs or throttles; on
//! SQLite another connection holds the database file's write lock. A push whose delivery log
//! cannot be written is not reported as done.
//!
//! How long the answers take is bounded by the clients' configured timeouts, not asserted here:
//! the HTTP client's own timeout, far above those bounds, only makes a hang fail the test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::config::{dynamodb_client_for_endpoint_with, AwsLimits};
use switchboard_shared::domain::{JobId, Principal, Role, UserId};
use switchboard_shared::jobs::BulkChunk;
use switchboard_shared::ops::bulk::run_chunk;
use switchboard_shared::ops::{
    list_delivery_logs, register_device, send_notification, Notification, RegisterDevice,
};
use switchboard_shared::push::local::LocalPush;
use switchboard_shared::push::{DeviceToken, EndpointState, Platform, Push, PushError};
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::repo::deliveries::DeliveryStatus;
use switchboard_shared::repo::jobs::{self, JobRecord};
use switchboard_shared::store::dynamo::DynamoItemStore;
use switchboard_shared::store::sqlite::SqliteItemStore;
use switchboard_shared::{ApiError, App};
use switchboard_tests::{moto_endpoint, open_session, Backend, Caller, Posting, TestApi};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Far above every configured bound (5 s for a DynamoDB call, 1.5 s for SQLite): reached only
/// if a request never answers.
const NEVER: Duration = Duration::from_secs(60);

/// What the proxy does with the connections it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Forwards to the moto server.
    Pass,
    /// Resets every connection as soon as it is accepted (a refused endpoint).
    Refuse,
    /// Reads a request, then resets the connection (a reset mid-request).
    Reset,
    /// Reads and never answers.
    Hang,
    /// Answers every request with DynamoDB's throttling error.
    Throttle,
}

/// A TCP proxy on 127.0.0.1 in front of the moto server, switchable between faults. Switching
/// ends the connections it holds, so a client's pooled connections meet the new fault too.
struct FaultProxy {
    address: SocketAddr,
    fault: watch::Sender<Fault>,
}

impl FaultProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let address = listener.local_addr().expect("the proxy's address");
        let (fault, watching) = watch::channel(Fault::Pass);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream.clone(), watching.clone()));
            }
        });
        Self { address, fault }
    }

    fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }
}

async fn serve(mut client: TcpStream, upstream: String, mut fault: watch::Receiver<Fault>) {
    let current = *fault.borrow_and_update();
    let switched = async move {
        let _ = fault.changed().await;
    };
    match current {
        Fault::Pass => {
            let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = switched => {}
            }
        }
        Fault::Refuse => reset(client),
        Fault::Reset => {
            if read_request(&mut client).await.is_some() {
                reset(client);
            }
        }
        Fault::Hang => {
            tokio::select! {
                _ = async { while read_request(&mut client).await.is_some() {} } => {}
                _ = switched => {}
            }
        }
        Fault::Throttle => {
            tokio::select! {
                _ = throttle(&mut client) => {}
                _ = switched => {}
            }
        }
    }
}

/// Closes with a TCP RST instead of a FIN.
fn reset(client: TcpStream) {
    let _ = client.set_zero_linger();
    drop(client);
}

/// Answers each request on the connection as DynamoDB does when it throttles.
async fn throttle(client: &mut TcpStream) {
    let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
    while read_request(client).await.is_some() {
        let response = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
             x-amzn-errortype: ThrottlingException\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if client.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads one HTTP/1.1 request (headers, and a body of `content-length` bytes); `None` at the end
/// of the connection.
async fn read_request(client: &mut TcpStream) -> Option<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    client.read_exact(&mut body).await.ok()?;
    Some(())
}

/// A gateway whose DynamoDB client goes through a fault proxy to the moto server.
async fn gateway_behind_proxy() -> (TestApi, FaultProxy) {
    let moto = moto_endpoint();
    let proxy = FaultProxy::start(moto.trim_start_matches("http://").trim_end_matches('/').to_owned()).await;
    let table = format!("outage-{}", ulid::Ulid::new().to_string().to_lowercase());
    // The production defaults, whatever the run gives the busy moto server of the other tests.
    let client = dynamodb_client_for_endpoint_with(&proxy.endpoint(), AwsLimits::default())
        .expect("a DynamoDB client");
    let store = DynamoItemStore::new(client, table);
    store.create_table().await.expect("create a table through the proxy");
    let api = TestApi::start_on(Backend::DynamoDb, Posting::InProcess, Arc::new(store), None).await;
    (api, proxy)
}

/// A gateway on a SQLite file; the file's path, for another connection to lock.
async fn gateway_on_sqlite_file() -> (TestApi, PathBuf) {
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    let path = dir.path().join("switchboard.db");
    let store = SqliteItemStore::open(&path).expect("open the SQLite store");
    let api = TestApi::start_on(Backend::Sqlite, Posting::InProcess, Arc::new(store), Some(dir)).await;
    (api, path)
}

/// Another process's hold on the database file: its write lock, until dropped.
fn lock_file(path: &Path) -> rusqlite::Connection {
    let lock = rusqlite::Connection::open(path).expect("a second connection to the file");
    lock.execute_batch("BEGIN EXCLUSIVE").expect("take the file's lock");
    lock
}

/// A response with the header a 503 must carry.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

impl Answer {
    fn is_store_unavailable(&self) -> bool {
        self.status == 503
            && self.body["error"]["code"] == "store_unavailable"
            && self.retry_after.is_some_and(|s| s > 0)
    }
}

async fn answer(api: &TestApi, caller: Caller, method: Method, path: &str, body: Option<Value>) -> Answer {
    let client = reqwest::Client::builder().timeout(NEVER).build().expect("an HTTP client");
    let mut request = client.request(method, format!("{}{path}", api.base)).bearer_auth(caller.token(api));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the request is answered");
    let status = response.status().as_u16();
    let retry_after =
        response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let body = response.json().await.unwrap_or(Value::Null);
    Answer { status, retry_after, body }
}

fn message(session: &str, n: usize) -> Value {
    json!({"session_id": session, "body": format!("during the outage {n}"), "client_message_id": format!("outage-{n}")})
}

/// Writes (a session, messages), reads, the health probe, a WebSocket connect and a frame on an
/// open socket, all at once during `fault`: each answers 503 `store_unavailable` (health:
/// `degraded`) with `Retry-After`; once the proxy passes again, nothing of it was written.
async fn every_request_answers_503_and_writes_nothing_during(fault: Fault) {
    let (api, proxy) = gateway_behind_proxy().await;
    let session = open_session(&api, Caller::CustomerB, "before the outage").await;
    let mut socket = api.connect(&Caller::CustomerB.token(&api)).await;

    proxy.set(fault);
    let (token, messages_path) = (Caller::CustomerB.token(&api), format!("/chat/messages/{session}"));
    let writes = join_all((0..3).map(|n| {
        answer(&api, Caller::CustomerB, Method::POST, "/chat/messages", Some(message(&session, n)))
    }));
    let (messages, new_session, sessions, read_messages, health, refused, frame) = tokio::join!(
        writes,
        answer(&api, Caller::CustomerB, Method::POST, "/chat/sessions", Some(json!({"subject": "lost"}))),
        answer(&api, Caller::CustomerB, Method::GET, "/chat/sessions", None),
        answer(&api, Caller::CustomerB, Method::GET, &messages_path, None),
        answer(&api, Caller::Admin, Method::GET, "/admin/chat-dashboard/health", None),
        tokio::time::timeout(NEVER, api.try_connect(&token)),
        tokio::time::timeout(
            NEVER,
            socket.request(json!({"action": "send_message", "session_id": session, "body": "by socket",
                "client_message_id": "outage-socket"})),
        ),
    );

    for reply in messages.iter().chain([&new_session, &sessions, &read_messages]) {
        assert!(reply.is_store_unavailable(), "{fault:?}: {reply:?}");
    }
    assert_eq!((health.status, &health.body["status"]), (503, &json!("degraded")), "{fault:?}: {health:?}");
    assert!(health.retry_after.is_some(), "{fault:?}: {health:?}");
    assert_eq!(refused.expect("the connect is answered").err(), Some(503), "{fault:?}");
    let frame = frame.expect("the frame is answered");
    assert_eq!((&frame["type"], &frame["code"]), (&json!("error"), &json!("store_unavailable")), "{fault:?}");

    proxy.set(Fault::Pass);
    let sessions = answer(&api, Caller::CustomerB, Method::GET, "/chat/sessions", None).await;
    assert_eq!(sessions.status, 200, "{fault:?}: {sessions:?}");
    let subjects: Vec<&Value> =
        sessions.body["items"].as_array().expect("items").iter().map(|s| &s["subject"]).collect();
    assert_eq!(subjects, [&json!("before the outage")], "{fault:?}");
    let read = answer(&api, Caller::CustomerB, Method::GET, &format!("/chat/messages/{session}"), None).await;
    assert_eq!((read.status, &read.body["items"]), (200, &json!([])), "{fault:?}: {read:?}");
    let health = answer(&api, Caller::Admin, Method::GET, "/admin/chat-dashboard/health", None).await;
    assert_eq!((health.status, &health.body["status"]), (200, &json!("ok")), "{fault:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_dynamodb_answers_every_request_with_503_and_writes_nothing() {
    every_request_answers_503_and_writes_nothing_during(Fault::Refuse).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamodb_that_resets_mid_request_answers_503_and_writes_nothing() {
    every_request_answers_503_and_writes_nothing_during(Fault::Reset).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamodb_that_never_answers_gets_503_within_the_timeouts_and_nothing_written() {
    every_request_answers_503_and_writes_nothing_during(Fault::Hang).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_dynamodb_answers_503_and_writes_nothing() {
    every_request_answers_503_and_writes_nothing_during(Fault::Throttle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_to_a_locked_sqlite_file_answer_503_and_pass_after_release() {
    let (api, path) = gateway_on_sqlite_file().await;
    let session = open_session(&api, Caller::CustomerB, "before the lock").await;
    let mut socket = api.connect(&Caller::CustomerB.token(&api)).await;

    let lock = lock_file(&path);
    let token = Caller::CustomerB.token(&api);
    let writes = join_all((0..8).map(|n| {
        answer(&api, Caller::CustomerB, Method::POST, "/chat/messages", Some(message(&session, n)))
    }));
    let (messages, new_session, refused, frame) = tokio::join!(
        writes,
        answer(&api, Caller::CustomerB, Method::POST, "/chat/sessions", Some(json!({"subject": "lost"}))),
        tokio::time::timeout(NEVER, api.try_connect(&token)),
        tokio::time::timeout(
            NEVER,
            socket.request(json!({"action": "send_message", "session_id": session, "body": "by socket",
                "client_message_id": "outage-socket"})),
        ),
    );
    for reply in messages.iter().chain([&new_session]) {
        assert!(reply.is_store_unavailable(), "{reply:?}");
    }
    assert_eq!(refused.expect("the connect is answered").err(), Some(503));
    let frame = frame.expect("the frame is answered");
    assert_eq!((&frame["type"], &frame["code"]), (&json!("error"), &json!("store_unavailable")));
    // Reads do not need the write lock: they go on.
    let read = answer(&api, Caller::CustomerB, Method::GET, &format!("/chat/messages/{session}"), None).await;
    assert_eq!((read.status, &read.body["items"]), (200, &json!([])), "{read:?}");

    drop(lock);
    for n in 0..8 {
        let retried =
            answer(&api, Caller::CustomerB, Method::POST, "/chat/messages", Some(message(&session, n))).await;
        assert_eq!(retried.status, 201, "{retried:?}");
    }
    let read = answer(&api, Caller::CustomerB, Method::GET, &format!("/chat/messages/{session}"), None).await;
    assert_eq!(read.body["items"].as_array().map(Vec::len), Some(8), "{read:?}");
    let sessions = answer(&api, Caller::CustomerB, Method::GET, "/chat/sessions", None).await;
    assert_eq!(sessions.body["items"].as_array().map(Vec::len), Some(1), "{sessions:?}");
}

// ---------------------------------------------------------------------------------------------
// Pushes whose delivery log cannot be written

const TOKEN: &str = "outage-device-token-0123456789";

async fn register_a_device(api: &TestApi, caller: Caller, token: &str) {
    let reply = answer(
        api,
        caller,
        Method::POST,
        "/notifications/devices/register",
        Some(json!({"token": token, "platform": "android"})),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

fn push_to(user: &str) -> Value {
    json!({"user_id": user, "category": "announcement", "title": "Maintenance", "body": "Tonight at ten"})
}

async fn delivery_logs(api: &TestApi, user: &str) -> Value {
    let reply = answer(
        api,
        Caller::Admin,
        Method::GET,
        &format!("/notifications/delivery-logs?user_id={user}"),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body["items"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_during_a_dynamodb_outage_is_503_not_a_reported_attempt() {
    let (api, proxy) = gateway_behind_proxy().await;
    let user = Caller::CustomerB.id();
    register_a_device(&api, Caller::CustomerB, &format!("{TOKEN}-{}", ulid::Ulid::new())).await;

    proxy.set(Fault::Refuse);
    let sent = answer(&api, Caller::Admin, Method::POST, "/notifications/send", Some(push_to(user))).await;
    assert!(sent.is_store_unavailable(), "{sent:?}");

    proxy.set(Fault::Pass);
    assert_eq!(delivery_logs(&api, user).await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_whose_pending_log_cannot_be_written_is_503_and_not_published() {
    let (api, path) = gateway_on_sqlite_file().await;
    let user = Caller::CustomerB.id();
    register_a_device(&api, Caller::CustomerB, TOKEN).await;

    // The reads a send makes go on under another connection's write lock; its first write fails.
    let lock = lock_file(&path);
    let sent = answer(&api, Caller::Admin, Method::POST, "/notifications/send", Some(push_to(user))).await;
    assert!(sent.is_store_unavailable(), "{sent:?}");

    drop(lock);
    assert_eq!(delivery_logs(&api, user).await, json!([]));
}

/// The in-memory push service, which locks the store's file right after it publishes: the
/// delivery log can then not be settled.
struct LockingPush {
    inner: LocalPush,
    path: PathBuf,
    published: AtomicUsize,
    lock: Mutex<Option<rusqlite::Connection>>,
}

#[async_trait]
impl Push for LockingPush {
    async fn create_endpoint(
        &self,
        platform: Platform,
        token: &DeviceToken,
        data: &str,
    ) -> Result<String, PushError> {
        self.inner.create_endpoint(platform, token, data).await
    }
    async fn endpoint(&self, arn: &str) -> Result<EndpointState, PushError> {
        self.inner.endpoint(arn).await
    }
    async fn enable_endpoint(&self, arn: &str, token: &DeviceToken) -> Result<(), PushError> {
        self.inner.enable_endpoint(arn, token).await
    }
    async fn delete_endpoint(&self, arn: &str) -> Result<(), PushError> {
        self.inner.delete_endpoint(arn).await
    }
    async fn publish(&self, arn: &str, message: &str) -> Result<String, PushError> {
        let id = self.inner.publish(arn, message).await?;
        self.published.fetch_add(1, Ordering::SeqCst);
        *self.lock.lock().expect("the lock's slot") = Some(lock_file(&self.path));
        Ok(id)
    }
}

/// An app on a SQLite file whose push service locks the file right after it publishes; the
/// push service, the store and the directory to keep while they are used.
fn app_locking_after_publish() -> (App, Arc<LockingPush>, Arc<SqliteItemStore>, tempfile::TempDir) {
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    let path = dir.path().join("switchboard.db");
    let store = Arc::new(SqliteItemStore::open(&path).expect("open the SQLite store"));
    let push = Arc::new(LockingPush {
        inner: LocalPush::default(),
        path,
        published: AtomicUsize::new(0),
        lock: Mutex::new(None),
    });
    let realtime = Arc::new(ApiGatewayRealtime::for_endpoint("http://127.0.0.1:9"));
    let app = App::new(store.clone(), realtime).with_push(push.clone());
    (app, push, store, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_whose_outcome_cannot_be_recorded_is_503_and_its_log_stays_pending() {
    let (app, push, _store, _dir) = app_locking_after_publish();
    let customer = Principal {
        user_id: UserId::parse("outage-customer").expect("a user id"),
        role: Role::Customer,
        name: None,
    };
    let admin = Principal {
        user_id: UserId::parse("outage-admin").expect("a user id"),
        role: Role::Admin,
        name: None,
    };
    let device = RegisterDevice {
        token: DeviceToken::parse(TOKEN).expect("a device token"),
        platform: Platform::Android,
        app_version: None,
    };
    register_device(&app, &customer, device).await.expect("register");

    let notification = Notification {
        category: switchboard_shared::domain::push::Category::Announcement,
        title: "Maintenance".into(),
        body: "Tonight at ten".into(),
        session_id: None,
        data: Default::default(),
    };
    let sent = send_notification(&app, &admin, vec![customer.user_id.clone()], notification).await;
    assert!(matches!(sent, Err(ApiError::StoreUnavailable(_))), "{sent:?}");
    assert_eq!(push.published.load(Ordering::SeqCst), 1);

    drop(push.lock.lock().expect("the lock's slot").take());
    let (logs, _) = list_delivery_logs(&app, &admin, Some(customer.user_id.clone()), None, 10, None)
        .await
        .expect("the logs");
    let statuses: Vec<DeliveryStatus> = logs.iter().map(|log| log.status).collect();
    assert_eq!(statuses, [DeliveryStatus::Pending]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_chunk_whose_count_failed_is_counted_when_delivered_again_and_pushed_once() {
    // Arrange: a bulk job of one recipient with a phone; the store's file is locked right after
    // the publish, so neither the log's outcome nor the job's count can be written.
    let (app, push, store, _dir) = app_locking_after_publish();
    let customer = Principal {
        user_id: UserId::parse("bulk-outage-customer").expect("a user id"),
        role: Role::Customer,
        name: None,
    };
    let device = RegisterDevice {
        token: DeviceToken::parse(TOKEN).expect("a device token"),
        platform: Platform::Android,
        app_version: None,
    };
    register_device(&app, &customer, device).await.expect("register");
    let job = JobRecord {
        job_id: JobId::generate(),
        created_by: UserId::parse("outage-admin").expect("a user id"),
        created_at: switchboard_shared::domain::now(),
        notification: Notification {
            category: switchboard_shared::domain::push::Category::Announcement,
            title: "Maintenance".into(),
            body: "Tonight at ten".into(),
            session_id: None,
            data: Default::default(),
        },
        total: 1,
        sent: 0,
        failed: 0,
        skipped: 0,
        enqueued: true,
        request_hash: String::new(),
    };
    jobs::create(store.as_ref(), &job, None).await.expect("store the job");
    let chunk = BulkChunk { job_id: job.job_id.to_string(), user_ids: vec![customer.user_id.clone()] };
    let failed = run_chunk(&app, &chunk).await;
    drop(push.lock.lock().expect("the lock's slot").take());

    // Act: the queue delivers the chunk again, and once more.
    run_chunk(&app, &chunk).await.expect("the redelivery");
    run_chunk(&app, &chunk).await.expect("a third delivery");

    // Assert: the first delivery failed after its publish; the recipient is counted once, as sent
    // (the publish went out; only its outcome was lost), and was pushed once.
    assert!(matches!(failed, Err(ApiError::StoreUnavailable(_))), "{failed:?}");
    let done = jobs::get(store.as_ref(), &job.job_id).await.expect("read").expect("the job");
    assert_eq!((done.sent, done.failed, done.skipped), (1, 0, 0));
    assert_eq!(push.published.load(Ordering::SeqCst), 1);
}

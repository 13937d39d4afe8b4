//! Test support for the black-box tests: a local gateway started in process on a random port of
//! 127.0.0.1, over a fresh SQLite file or a fresh table on the moto server, a real HTTP client, and
//! the callers and arranging steps the matrix tests share.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_local::feed::FeedOf;
use switchboard_local::ws::{Connections, LocalRealtime};
use switchboard_local::Gateway;
use switchboard_shared::attachments::bucket::SignedBucketObjects;
use switchboard_shared::attachments::folder::FolderAttachments;
use switchboard_shared::attachments::s3::S3AttachmentObjects;
use switchboard_shared::attachments::signing::BucketEndpoint;
use switchboard_shared::attachments::store::{AttachmentLinks, AttachmentObjects, S3Links};
use switchboard_shared::auth::{TokenMinter, TokenVerifier, WidgetTokens};
use switchboard_shared::changes::{runner, ChangeFeed, ChangeRecord};
use switchboard_shared::config::{dynamodb_client_for_endpoint_with, AwsLimits, TEST_DYNAMODB_ENDPOINT};
use switchboard_shared::domain::Role;
use switchboard_shared::lambda::dispatch_scheduled;
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::realtime::Realtime;
use switchboard_shared::reports::folder::FolderReportStore;
use switchboard_shared::reports::s3::S3ReportStore;
use switchboard_shared::reports::ReportStore;
use switchboard_shared::store::dynamo::DynamoItemStore;
use switchboard_shared::store::sqlite::SqliteItemStore;
use switchboard_shared::store::{
    Condition, Item, ItemStore, Key, NamedTxOp, Page, Query, StoreError, UpdateAction,
};
use switchboard_shared::App;
use tokio_tungstenite::tungstenite::Message;

pub mod recording;

/// Secret the test gateways sign and verify tokens with.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret!";
/// Secret the test gateways sign the widget's customer tokens with.
pub const TEST_WIDGET_SECRET: &str = "test-widget-secret-test-widget-secret!";
/// Issuer of the test gateways' widget tokens.
pub const WIDGET_ISSUER: &str = "switchboard-widget";
/// Issuer the test gateways check.
pub const ISSUER: &str = "switchboard";
/// Audience the test gateways check.
pub const AUDIENCE: &str = "switchboard-api";

/// How a test gateway's functions post frames to WebSocket connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posting {
    /// The production `aws-sdk-apigatewaymanagement` client, over HTTP to the gateway's own
    /// `/@connections` (what AWS does).
    ManagementApi,
    /// The local gateway's in-process delivery (`switchboard-local serve`'s default).
    InProcess,
}

/// Which storage a test gateway runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file, reports in a folder (the local gateway's storage).
    Sqlite,
    /// A fresh table and reports bucket on the moto server named by
    /// `SWITCHBOARD_TEST_DYNAMODB_ENDPOINT` (AWS's storage).
    DynamoDb,
}

/// The item store the gateway uses, counting the calls each operation makes; it can also be
/// made to fail every write after the Nth, as a store that goes away in the middle of a request.
/// The change feed's reactions write through another one over the same store: its calls are not
/// counted with the requests', but the same failures reach it (the store is one).
pub struct CountingStore {
    inner: Arc<dyn ItemStore>,
    calls: Mutex<BTreeMap<&'static str, usize>>,
    total: AtomicUsize,
    failures: Arc<Failures>,
}

/// The failures a test injects, shared by the requests' store and the reactions'.
#[derive(Default)]
struct Failures {
    /// Writes (put, update, delete, transaction) left before every write fails.
    writes_left: AtomicUsize,
    /// Writes refused since the last [`CountingStore::fail_writes_after`].
    refused: AtomicUsize,
    refusal: tokio::sync::Notify,
}

impl CountingStore {
    fn tally(&self, operation: &'static str) {
        self.total.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut calls) = self.calls.lock() {
            *calls.entry(operation).or_default() += 1;
        }
    }

    /// Calls since the last reset, by operation (`get`, `put`, `update`, `delete`, `query`,
    /// `transact_write`).
    pub fn calls(&self) -> BTreeMap<&'static str, usize> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// All calls since the last reset.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    /// Lets the next `writes` writes through and fails every write after them (with a backend
    /// error, as a lost connection to the store), until [`CountingStore::heal`].
    pub fn fail_writes_after(&self, writes: usize) {
        self.failures.refused.store(0, Ordering::SeqCst);
        self.failures.writes_left.store(writes, Ordering::SeqCst);
    }

    /// Lets every write through again.
    pub fn heal(&self) {
        self.failures.writes_left.store(usize::MAX, Ordering::SeqCst);
    }

    /// Returns once a write has been refused since [`CountingStore::fail_writes_after`], by a
    /// request or by a reaction of the change feed.
    pub async fn refused(&self) {
        loop {
            let refusal = self.failures.refusal.notified();
            tokio::pin!(refusal);
            refusal.as_mut().enable();
            if self.failures.refused.load(Ordering::SeqCst) > 0 {
                return;
            }
            refusal.await;
        }
    }

    fn write(&self, operation: &'static str) -> Result<(), StoreError> {
        self.tally(operation);
        let allowed =
            self.failures.writes_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| match left {
                usize::MAX => Some(left),
                0 => None,
                _ => Some(left - 1),
            });
        allowed.map(|_| ()).map_err(|_| {
            self.failures.refused.fetch_add(1, Ordering::SeqCst);
            self.failures.refusal.notify_waiters();
            StoreError::Backend("the store failed (injected by the test)".into())
        })
    }

    /// Another counter over the same store and the same injected failures.
    fn sharing_failures(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            calls: Mutex::default(),
            total: AtomicUsize::new(0),
            failures: Arc::clone(&self.failures),
        }
    }

    /// Starts counting from zero.
    pub fn reset(&self) {
        self.total.store(0, Ordering::SeqCst);
        if let Ok(mut calls) = self.calls.lock() {
            calls.clear();
        }
    }
}

#[async_trait]
impl ItemStore for CountingStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.tally("get");
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        self.write("put")?;
        self.inner.put(item, condition).await
    }
    async fn update(
        &self,
        key: &Key,
        actions: Vec<UpdateAction>,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        self.write("update")?;
        self.inner.update(key, actions, condition).await
    }
    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
        self.write("delete")?;
        self.inner.delete(key, condition).await
    }
    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.tally("query");
        self.inner.query(query).await
    }
    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        self.tally("query");
        self.inner.count(query).await
    }
    async fn get_many(&self, keys: Vec<Key>) -> Result<Vec<Option<Item>>, StoreError> {
        // The BatchGetItem calls DynamoDB needs: 100 keys each.
        for _ in 0..keys.len().div_ceil(100) {
            self.tally("batch_get");
        }
        self.inner.get_many(keys).await
    }
    async fn transact_write(&self, ops: Vec<NamedTxOp>) -> Result<(), StoreError> {
        self.write("transact_write")?;
        self.inner.transact_write(ops).await
    }
}

/// The change feed of a store (as `fresh_store` gives it), for a test that delivers the records
/// to the reactions itself: the reader the local gateway's consumer uses.
pub async fn open_feed(feed: FeedOf) -> Arc<dyn ChangeFeed> {
    switchboard_local::feed::open(feed).await.expect("open the change feed")
}

/// Every record of `feed` so far, read to its end (checkpointed as a consumer does).
pub async fn read_feed(feed: &dyn ChangeFeed) -> Vec<ChangeRecord> {
    let mut records = Vec::new();
    loop {
        let batch = feed.next_batch(runner::BATCH_SIZE).await.expect("read the feed");
        let Some(last) = batch.last() else { return records };
        feed.checkpoint(last).await.expect("checkpoint");
        records.extend(batch);
    }
}

/// A running local gateway and a client for it.
pub struct TestApi {
    /// `http://127.0.0.1:<port>/api/v1`
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The store behind the gateway (to seed data and count calls).
    pub store: Arc<CountingStore>,
    /// `http://127.0.0.1:<port>`: the gateway's root, where `/ws` and `/@connections` live.
    pub root: String,
    /// Where the gateway's functions keep reports: a folder whose signed links the gateway
    /// serves (SQLite), or a fresh bucket on the moto server (DynamoDB).
    pub reports: Arc<dyn ReportStore>,
    /// The AWS calls the gateway's functions made, each by its function (see [`recording`]).
    pub accesses: Arc<recording::AccessLog>,
    /// Where attachments are kept: a folder the gateway plays the bucket of (SQLite; it runs
    /// the check on each upload), or a fresh bucket on the moto server (DynamoDB; a test runs
    /// the check as the bucket's event would, [`TestApi::attachments_event`]).
    pub attachment_objects: Arc<dyn AttachmentObjects>,
    /// The app the gateway's functions run with.
    pub app: App,
    /// The attachments bucket on the moto server, as the S3 client reaches it; `None` when the
    /// gateway plays the bucket (and checks each upload itself).
    moto_bucket: Option<S3AttachmentObjects>,
    minter: TokenMinter,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: Option<tempfile::TempDir>,
}

/// A response: status and JSON body (`Value::Null` when the body is empty or not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
}

impl Reply {
    /// The `error.code` of an error body.
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// A reply as Gmail writes one, from `from` to `to` with `message_id`: the new text ("Great, then
/// please send it to Madrid."), then the quoted e-mail.
pub fn gmail_reply(from: &str, to: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: Grace <{from}>\r\nTo: Shop <{to}>\r\nSubject: Re: Ship to Spain?\r\nMessage-ID: <{message_id}>\r\n\
         Date: Mon, 7 Dec 2026 10:20:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n\
         Great, then please send it to Madrid.\r\n\r\nOn Mon, 7 Dec 2026 at 10:05, Shop <support@shop.example> wrote:\r\n\
         > Yes we ship to Spain\r\n> It takes 3 to 5 days\r\n"
    )
    .into_bytes()
}

/// The reply of `tests/fixtures/email/photo-reply.eml`, from `from` to `to` with `message_id`: a
/// line of text, a small PNG (`box.png`) and a page (`order.html`) attached.
pub fn photo_reply(from: &str, to: &str, message_id: &str) -> Vec<u8> {
    include_str!("fixtures/email/photo-reply.eml")
        .replace("{from}", from)
        .replace("{to}", to)
        .replace("{message_id}", message_id)
        .into_bytes()
}

/// The endpoint of the moto server the DynamoDB backend uses; fails the test saying how to start it.
pub fn moto_endpoint() -> String {
    std::env::var(TEST_DYNAMODB_ENDPOINT).unwrap_or_else(|_| {
        panic!("{TEST_DYNAMODB_ENDPOINT} is not set: run the tests with scripts/test.sh, which starts a moto server")
    })
}

/// The AWS limits of a test gateway's DynamoDB client. moto's server answers one request at a
/// time (`scripts/moto-server.py`), so the calls of a burst of a hundred sessions queue behind each
/// other for longer than any production limit allows, and would come back as 503
/// `store_unavailable`; `tests/tests/store_outage.rs` tests the production limits.
pub fn moto_limits() -> AwsLimits {
    AwsLimits {
        connect: std::time::Duration::from_secs(5),
        attempt: std::time::Duration::from_secs(600),
        operation: std::time::Duration::from_secs(600),
        ..AwsLimits::default()
    }
}

/// A fresh, empty reports bucket on the moto server.
pub async fn test_bucket() -> S3ReportStore {
    let bucket = format!("reports-{}", ulid::Ulid::new().to_string().to_lowercase());
    let store = S3ReportStore::for_endpoint(&moto_endpoint(), &bucket);
    store.ensure_bucket().await.expect("create a bucket on the moto server");
    store
}

/// A fresh, empty store of `backend` (a SQLite file in a temporary directory, or a new table on
/// the moto server), the directory to keep while it is used, and where its change feed is read.
pub async fn fresh_store(backend: Backend) -> (Arc<dyn ItemStore>, Option<tempfile::TempDir>, FeedOf) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::TempDir::new().expect("temporary directory");
            let store = SqliteItemStore::open(&dir.path().join("switchboard.db")).expect("open SQLite store");
            (Arc::new(store.clone()), Some(dir), FeedOf::Sqlite(store))
        }
        Backend::DynamoDb => {
            let endpoint = moto_endpoint();
            let table = format!("api-{}", ulid::Ulid::new().to_string().to_lowercase());
            let store = DynamoItemStore::new(
                dynamodb_client_for_endpoint_with(&endpoint, moto_limits()).expect("a DynamoDB client"),
                table,
            );
            store.create_table().await.expect("create a table on the moto server");
            (Arc::new(store.clone()), None, FeedOf::Stream { endpoint, store })
        }
    }
}

/// A fresh, empty attachments bucket on the moto server: links signed with the environment's
/// credentials, and its objects.
pub async fn test_attachments_bucket() -> (S3Links, S3AttachmentObjects) {
    let endpoint = moto_endpoint();
    let bucket = format!("attachments-{}", ulid::Ulid::new().to_string().to_lowercase());
    let objects = S3AttachmentObjects::for_endpoint(&endpoint, &bucket);
    let client = objects.client().expect("an S3 client");
    client.create_bucket().bucket(&bucket).send().await.expect("create a bucket on the moto server");
    let (region, credentials) = switchboard_shared::config::local_environment();
    let identity = switchboard_shared::attachments::signing::SigningIdentity {
        access_key: credentials.access_key_id().to_owned(),
        secret_key: credentials.secret_access_key().to_owned(),
        session_token: credentials.session_token().map(str::to_owned),
        region,
    };
    (S3Links::new(BucketEndpoint::path_style(&endpoint, &bucket), identity), objects)
}

impl TestApi {
    /// What the attachments bucket's events start in AWS, for an upload to `key`: on the moto
    /// bucket, the `attachments-check` function's handler with S3's Object Created event (what
    /// it did, or its error); on the local folder nothing, the gateway checked the upload.
    pub async fn attachments_event(
        &self,
        key: &str,
        scanner: switchboard_shared::ops::attachments::Scanner,
    ) -> Option<Value> {
        // On the local folder the gateway checked the upload itself.
        self.moto_bucket.as_ref()?;
        let event =
            json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {"object": {"key": key}}});
        Some(
            switchboard_attachments::check(&self.app, self.attachment_objects.as_ref(), scanner, event)
                .await
                .unwrap_or_else(|error| json!({"error": error.to_string()})),
        )
    }

    /// The tags of the attachment object `key` on the moto bucket (name and value, sorted);
    /// `None` on the local folder, whose files carry none.
    pub async fn attachment_tags(&self, key: &str) -> Option<Vec<(String, String)>> {
        let bucket = self.moto_bucket.as_ref()?;
        let client = bucket.client().expect("an S3 client");
        let tagging = client
            .get_object_tagging()
            .bucket(bucket.bucket())
            .key(key)
            .send()
            .await
            .expect("the object's tags from the moto server");
        let mut tags: Vec<(String, String)> =
            tagging.tag_set().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect();
        tags.sort();
        Some(tags)
    }

    /// Starts a gateway on `backend` with fresh, empty storage; its functions post to WebSockets
    /// through its own Management API with the production SDK client.
    pub async fn start(backend: Backend) -> Self {
        Self::start_posting(backend, Posting::ManagementApi).await
    }

    /// Starts a gateway on `backend` whose functions post to WebSockets as `posting` says.
    pub async fn start_posting(backend: Backend, posting: Posting) -> Self {
        let (inner, dir, feed) = fresh_store(backend).await;
        Self::start_feeding(backend, posting, inner, dir, Some(feed)).await
    }

    /// Starts a gateway over a store the test built (`backend` says which kind it is, for the
    /// reports' storage); `dir`, if any, lives as long as the gateway and holds its report folder.
    pub async fn start_on(
        backend: Backend,
        posting: Posting,
        inner: Arc<dyn ItemStore>,
        dir: Option<tempfile::TempDir>,
    ) -> Self {
        Self::start_feeding(backend, posting, inner, dir, None).await
    }

    /// [`TestApi::start_on`], with a consumer of the store's change feed when `feed` is given.
    pub async fn start_feeding(
        backend: Backend,
        posting: Posting,
        inner: Arc<dyn ItemStore>,
        dir: Option<tempfile::TempDir>,
        feed: Option<FeedOf>,
    ) -> Self {
        let failures = Failures { writes_left: AtomicUsize::new(usize::MAX), ..Failures::default() };
        let store = Arc::new(CountingStore {
            inner,
            calls: Mutex::default(),
            total: AtomicUsize::new(0),
            failures: Arc::new(failures),
        });
        let widget_tokens =
            WidgetTokens::hs256(TEST_WIDGET_SECRET.as_bytes(), WIDGET_ISSUER, AUDIENCE, 86_400);
        let verifier = TokenVerifier::hs256(TEST_SECRET.as_bytes(), ISSUER, AUDIENCE)
            .accepting_widget_tokens(&widget_tokens);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let connections = Arc::new(Connections::default());
        let realtime: Arc<dyn Realtime> = match posting {
            Posting::ManagementApi => {
                Arc::new(ApiGatewayRealtime::for_endpoint(&format!("http://127.0.0.1:{port}")))
            }
            Posting::InProcess => Arc::new(LocalRealtime::new(Arc::clone(&connections))),
        };
        let root = format!("http://127.0.0.1:{port}");
        let (reports, report_files) = match (&dir, backend) {
            (Some(dir), Backend::Sqlite) => {
                let folder =
                    FolderReportStore::new(dir.path().join("reports"), &root, TEST_SECRET.as_bytes())
                        .expect("a report folder");
                let folder = Arc::new(folder);
                (folder.clone() as Arc<dyn ReportStore>, Some(folder))
            }
            _ => (Arc::new(test_bucket().await) as Arc<dyn ReportStore>, None),
        };
        let (attachment_links, attachment_objects, attachment_files, moto_bucket) = match (&dir, backend) {
            (Some(dir), Backend::Sqlite) => {
                let folder =
                    FolderAttachments::new(dir.path().join("attachments"), &root, TEST_SECRET.as_bytes())
                        .expect("an attachments folder");
                let folder = Arc::new(folder);
                (
                    folder.clone() as Arc<dyn AttachmentLinks>,
                    folder.clone() as Arc<dyn AttachmentObjects>,
                    Some(folder),
                    None,
                )
            }
            _ => {
                // The objects as the check function reaches them: presigned requests.
                let (links, bucket) = test_attachments_bucket().await;
                let objects = SignedBucketObjects::new(&links).expect("the bucket's objects");
                (
                    Arc::new(links) as Arc<dyn AttachmentLinks>,
                    Arc::new(objects) as Arc<dyn AttachmentObjects>,
                    None,
                    Some(bucket),
                )
            }
        };
        let app = App::new(store.clone(), realtime)
            .with_reports(reports.clone())
            .with_widget_tokens(widget_tokens)
            .with_attachment_links(attachment_links);
        let accesses = Arc::new(recording::AccessLog::default());
        let mut gateway = Gateway::with_connections(app.clone(), verifier, connections)
            .expect("gateway routes")
            .with_app_per_function(|function| recording::recording_app(&app, function, &accesses));
        if let Some(files) = report_files {
            gateway = gateway.serving_report_files(files);
        }
        if let Some(feed) = feed {
            // The reactions' calls are not the requests': the round-trip tests count only those.
            let mut reacting = app.clone();
            reacting.store = Arc::new(store.sharing_failures());
            let feed = switchboard_local::feed::open(feed).await.expect("open the change feed");
            gateway = gateway.consuming_feed(switchboard_local::feed::start(reacting, feed));
        }
        if let Some(files) = attachment_files {
            gateway = gateway.serving_attachment_files(files);
        }
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(gateway.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            base: format!("{root}/api/v1"),
            root,
            client: reqwest::Client::new(),
            store,
            reports,
            accesses,
            attachment_objects,
            app,
            moto_bucket,
            minter: TokenMinter::hs256(TEST_SECRET.as_bytes(), ISSUER, AUDIENCE),
            shutdown: Some(shutdown),
            _dir: dir,
        }
    }

    /// Waits until the gateway's change feed consumer has processed every change written so
    /// far (`POST /local/feed/drain`): the reactions off the request path (counters, ...) are done.
    pub async fn settle(&self) {
        let admin = self.token("admin-settle", Role::Admin);
        let response = self
            .client
            .post(format!("{}{}", self.root, switchboard_local::feed::DRAIN_PATH))
            .bearer_auth(admin)
            .send()
            .await
            .expect("the gateway answers");
        assert_eq!(response.status().as_u16(), 204, "the feed drains: {:?}", response.text().await);
    }

    /// A valid token for a user in a role.
    pub fn token(&self, sub: &str, role: Role) -> String {
        self.minter.mint(sub, role, Some(sub), 3600).expect("mint a token")
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let authorization = token.map(|token| format!("Bearer {token}"));
        self.call_with_header(method, path, authorization.as_deref(), body.as_ref()).await
    }

    /// Sends a request with the `Authorization` header exactly as given (or none) and a JSON body.
    pub async fn call_with_header(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        self.send(request).await
    }

    /// [`call`](Self::call) as a page of `origin` sends it (the chat widget on a site's page).
    pub async fn call_from(
        &self,
        origin: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request =
            self.client.request(method, format!("{}{path}", self.base)).header("origin", origin);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// Sends a request with a raw body (malformed JSON, huge bodies).
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body);
        self.send(request).await
    }

    /// `GET path` with `token`, keeping what a JSON [`Reply`] drops: the body as text and the
    /// headers (downloads: transcripts, CSV).
    pub async fn fetch(&self, path: &str, token: &str) -> Fetched {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("the gateway answers");
        let status = response.status().as_u16();
        let header = |name: &str| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
        };
        let (content_type, disposition) = (header("content-type"), header("content-disposition"));
        let text = response.text().await.expect("read the body");
        Fetched { status, content_type, disposition, text }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("read the body");
        Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
    }

    /// `call` as a user in a role.
    pub async fn as_user(
        &self,
        sub: &str,
        role: Role,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let token = self.token(sub, role);
        self.call(method, path, Some(&token), body).await
    }
}

impl TestApi {
    /// Opens a WebSocket with a token, as a client would (`/ws?token=`); panics if refused.
    pub async fn connect(&self, token: &str) -> WsClient {
        match self.try_connect(token).await {
            Ok(client) => client,
            Err(status) => panic!("the WebSocket connect was refused with {status}"),
        }
    }

    /// Opens a WebSocket with a token; a refusal before the upgrade is its HTTP status.
    pub async fn try_connect(&self, token: &str) -> Result<WsClient, u16> {
        let url = format!("{}/ws?token={token}", self.root.replacen("http://", "ws://", 1));
        match tokio_tungstenite::connect_async(url).await {
            Ok((stream, _)) => Ok(WsClient { stream, backlog: VecDeque::new(), next_ref: 0 }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(other) => panic!("WebSocket connect failed: {other}"),
        }
    }
}

/// How long a test waits for a frame before it fails.
pub const FRAME_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// A WebSocket client of the gateway, reading JSON frames.
pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    backlog: VecDeque<Value>,
    next_ref: u64,
}

/// How a socket ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// A close frame with this code.
    Closed(u16),
    /// The stream ended or failed without one.
    Dropped,
}

impl WsClient {
    /// Sends a frame.
    pub async fn send(&mut self, frame: Value) {
        self.send_text(frame.to_string()).await;
    }

    /// Sends a text message as given.
    pub async fn send_text(&mut self, text: String) {
        use futures::SinkExt;
        self.stream.send(Message::Text(text.into())).await.expect("send a WebSocket message");
    }

    /// Sends one text message in fragments (WebSocket frames) of the given sizes.
    pub async fn send_fragmented(&mut self, fragments: &[usize]) {
        use futures::SinkExt;
        use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
        use tokio_tungstenite::tungstenite::protocol::frame::Frame;
        for (index, size) in fragments.iter().enumerate() {
            let opcode = OpCode::Data(if index == 0 { Data::Text } else { Data::Continue });
            let last = index + 1 == fragments.len();
            let frame = Frame::message(vec![b' '; *size], opcode, last);
            self.stream.send(Message::Frame(frame)).await.expect("send a WebSocket frame");
        }
    }

    /// Reads the next frame from the socket (not the backlog); panics on timeout or close.
    async fn read(&mut self) -> Value {
        use futures::StreamExt;
        loop {
            let next = tokio::time::timeout(FRAME_TIMEOUT, self.stream.next()).await;
            match next {
                Err(_) => panic!("no frame within {FRAME_TIMEOUT:?}; backlog {:?}", self.backlog),
                Ok(Some(Ok(Message::Text(text)))) => {
                    return serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("a frame is not JSON ({e}): {text}"))
                }
                Ok(Some(Ok(Message::Ping(_)))) | Ok(Some(Ok(Message::Pong(_)))) => continue,
                Ok(other) => panic!("the socket ended while a frame was awaited: {other:?}"),
            }
        }
    }

    /// Sends a frame with a fresh `ref` and returns the reply that carries it; frames that
    /// arrive meanwhile go to the backlog.
    pub async fn request(&mut self, mut frame: Value) -> Value {
        self.next_ref += 1;
        let reference = format!("r{}", self.next_ref);
        frame["ref"] = Value::String(reference.clone());
        self.send(frame).await;
        loop {
            let next = self.read().await;
            if next["ref"] == Value::String(reference.clone()) {
                return next;
            }
            self.backlog.push_back(next);
        }
    }

    /// Pings and waits for the pong: every frame queued for this socket before the ping was
    /// processed is then in the backlog.
    pub async fn barrier(&mut self) {
        let pong = self.request(json!({"action": "ping"})).await;
        assert_eq!(pong["type"], "pong", "{pong}");
    }

    /// Waits for the next frame of a type (from the backlog first); frames of other types stay.
    pub async fn expect(&mut self, kind: &str) -> Value {
        if let Some(index) = self.backlog.iter().position(|f| f["type"] == kind) {
            return self.backlog.remove(index).unwrap_or_default();
        }
        loop {
            let next = self.read().await;
            if next["type"] == kind {
                return next;
            }
            self.backlog.push_back(next);
        }
    }

    /// Takes every backlog frame of a type, in arrival order.
    pub fn take(&mut self, kind: &str) -> Vec<Value> {
        let (wanted, rest): (VecDeque<Value>, VecDeque<Value>) =
            self.backlog.drain(..).partition(|f| f["type"] == kind);
        self.backlog = rest;
        wanted.into_iter().collect()
    }

    /// Takes every backlog frame, in arrival order.
    pub fn take_all(&mut self) -> Vec<Value> {
        self.backlog.drain(..).collect()
    }

    /// Subscribes to a session; returns the reply (`subscribed` or `error`).
    pub async fn subscribe(&mut self, session_id: &str) -> Value {
        self.request(json!({"action": "subscribe", "session_id": session_id})).await
    }

    /// Reads until the socket ends; returns how.
    pub async fn ended(&mut self) -> Ended {
        use futures::StreamExt;
        loop {
            match tokio::time::timeout(FRAME_TIMEOUT, self.stream.next()).await {
                Err(_) => panic!("the socket did not end within {FRAME_TIMEOUT:?}"),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Ended::Closed(frame.map(|f| u16::from(f.code)).unwrap_or(1005))
                }
                Ok(Some(Ok(Message::Text(text)))) => self
                    .backlog
                    .push_back(serde_json::from_str(&text).unwrap_or(Value::String(text.to_string()))),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_))) | Ok(None) => return Ended::Dropped,
            }
        }
    }

    /// Closes the socket cleanly.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

impl TestApi {
    /// Runs the scheduled routing sweep once, as its Lambda function would: its own clients on
    /// the gateway's table, posting through the gateway's Management API. Returns its account.
    pub async fn sweep_routing(&self) -> Value {
        let functions = switchboard_local::scheduler::functions();
        let sweep = functions.iter().find(|f| f.name == "routing-sweep").expect("the routing sweep");
        let store: Arc<dyn ItemStore> = self.store.clone();
        let app = App::new(store, Arc::new(ApiGatewayRealtime::for_endpoint(&self.root)));
        let event = json!({
            "version": "0", "id": "sweep", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "000000000000", "time": "2026-01-01T12:01:00Z", "region": "local",
            "resources": [], "detail": {},
        });
        dispatch_scheduled(&app, sweep, event).await.expect("the routing sweep runs")
    }
}

impl Drop for TestApi {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The cast of the matrix tests and the steps that arrange their worlds
// ---------------------------------------------------------------------------------------------

/// Runs each `async fn name(backend: Backend)` of the calling test file as two tests,
/// `sqlite::name` and `dynamodb::name`: the same behaviour on both stores.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::DynamoDb).await;
                }
            )*
        }
    };
}

/// A response read as text, with the headers a download has.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// HTTP status.
    pub status: u16,
    /// `content-type`.
    pub content_type: String,
    /// `content-disposition` (empty when absent).
    pub disposition: String,
    /// The body.
    pub text: String,
}

/// Everyone who calls in the matrix tests (who may do what, bad input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Owns the assigned session.
    CustomerA,
    /// A stranger to customer A's sessions, with a waiting session of their own.
    CustomerB,
    /// The agent customer A's session is assigned to.
    AgentX,
    /// An agent with no session of their own.
    AgentY,
    /// Sees and steers everything, but takes part in nothing.
    Admin,
}

impl Caller {
    /// Every caller, customers first.
    pub const ALL: [Caller; 5] =
        [Caller::CustomerA, Caller::CustomerB, Caller::AgentX, Caller::AgentY, Caller::Admin];

    /// The caller's user id.
    pub fn id(self) -> &'static str {
        match self {
            Caller::CustomerA => "cust-ada",
            Caller::CustomerB => "cust-bob",
            Caller::AgentX => "agent-xena",
            Caller::AgentY => "agent-yuri",
            Caller::Admin => "admin-zoe",
        }
    }

    /// The caller's role.
    pub fn role(self) -> Role {
        match self {
            Caller::CustomerA | Caller::CustomerB => Role::Customer,
            Caller::AgentX | Caller::AgentY => Role::Agent,
            Caller::Admin => Role::Admin,
        }
    }

    /// A valid token for the caller.
    pub fn token(self, api: &TestApi) -> String {
        api.token(self.id(), self.role())
    }

    /// [`TestApi::as_user`] as the caller.
    pub async fn call(self, api: &TestApi, method: Method, path: &str, body: Option<Value>) -> Reply {
        api.as_user(self.id(), self.role(), method, path, body).await
    }
}

/// A reply to a request that arranges a test, checked to have `status` (`what` names the step).
pub fn arranged(reply: Reply, status: u16, what: &str) -> Reply {
    assert_eq!(reply.status, status, "arranging the world: {what}: {reply:?}");
    reply
}

/// The `id` of a reply's body.
pub fn id_of(reply: &Reply) -> String {
    reply.body["id"].as_str().unwrap_or_else(|| panic!("a reply with an id: {reply:?}")).to_owned()
}

/// The ids of a list reply's items, in the order listed.
pub fn ids(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list has items: {:?}", reply.body))
        .iter()
        .map(|item| item["id"].as_str().expect("every item has an id").to_owned())
        .collect()
}

/// `customer` opens a session about `subject`; returns its id.
pub async fn open_session(api: &TestApi, customer: Caller, subject: &str) -> String {
    let reply = customer.call(api, Method::POST, "/chat/sessions", Some(json!({"subject": subject}))).await;
    id_of(&arranged(reply, 201, "a customer opens a session"))
}

/// The priority a customer asks for: `urgent`, which only staff set, becomes `high` (and
/// [`raise_to_urgent`] follows).
pub fn customer_priority(priority: &str) -> &str {
    if priority == "urgent" {
        "high"
    } else {
        priority
    }
}

/// An admin raises a session to `urgent`, as only staff may; returns the session as it is then.
pub async fn raise_to_urgent(api: &TestApi, session: &Value) -> Value {
    let path = format!("/chat/sessions/{}", session["id"].as_str().unwrap_or_default());
    let reply = Caller::Admin.call(api, Method::PATCH, &path, Some(json!({"priority": "urgent"}))).await;
    arranged(reply, 200, "an admin raises a session to urgent").body
}

/// `sender` sends `body` to `session`; returns the message's id.
pub async fn send(api: &TestApi, sender: Caller, session: &str, body: &str) -> String {
    let reply = sender
        .call(api, Method::POST, "/chat/messages", Some(json!({"session_id": session, "body": body})))
        .await;
    id_of(&arranged(reply, 201, "a participant sends a message"))
}

/// Customer A's session, assigned to agent X (active), and a message from each of them in it.
pub struct AssignedSession {
    /// The session's id.
    pub session: String,
    /// Customer A's message.
    pub customer_message: String,
    /// Agent X's message, sent after the customer's.
    pub agent_message: String,
}

/// `agent` comes on duty as `away` with room for 50 sessions: they may take sessions and be
/// given them, while routing leaves the queue alone, so the test decides who gets what.
pub async fn on_duty(api: &TestApi, agent: &str) {
    let body = json!({"status": "away", "capacity": 50});
    let reply = api.as_user(agent, Role::Agent, Method::PUT, "/agent/status", Some(body)).await;
    arranged(reply, 200, "an agent comes on duty");
}

/// Customer A opens a session, agent X takes it, and each sends a message in it (agents X and
/// Y are on duty, see [`on_duty`]).
pub async fn assigned_session(api: &TestApi) -> AssignedSession {
    on_duty(api, Caller::AgentX.id()).await;
    on_duty(api, Caller::AgentY.id()).await;
    let session = open_session(api, Caller::CustomerA, "my parcel is late").await;
    let take = format!("/admin/chat-dashboard/sessions/{session}/assign");
    arranged(Caller::AgentX.call(api, Method::POST, &take, Some(json!({}))).await, 200, "agent X takes it");
    let customer_message = send(api, Caller::CustomerA, &session, "where is it?").await;
    let agent_message = send(api, Caller::AgentX, &session, "let me check").await;
    AssignedSession { session, customer_message, agent_message }
}

/// Everything an admin can see of the session lists, the rooms and `sessions` (reads only), to
/// compare before and after requests that must change nothing.
pub async fn snapshot(api: &TestApi, sessions: &[impl AsRef<str>]) -> Vec<Value> {
    let mut paths: Vec<String> = ["waiting", "active", "closed"]
        .iter()
        .map(|status| format!("/chat/sessions?status={status}&limit=200"))
        .chain(["/chat/rooms?limit=200".to_owned()])
        .collect();
    for session in sessions.iter().map(AsRef::as_ref) {
        paths.push(format!("/chat/sessions/{session}"));
        paths.push(format!("/chat/sessions/{session}/participants?limit=200"));
        paths.push(format!("/chat/messages/{session}?limit=200"));
    }
    let mut seen = Vec::new();
    for path in paths {
        let reply = Caller::Admin.call(api, Method::GET, &path, None).await;
        assert_eq!(reply.status, 200, "the admin reads {path}: {reply:?}");
        seen.push(json!({"path": path, "body": reply.body}));
    }
    seen
}

/// The text of a PDF as `pdftotext -layout` reads it (poppler-utils; `scripts/test.sh` installs
/// it), each line with its runs of spaces collapsed to one: `First response median 35.0 s`.
pub fn pdf_text(pdf: &[u8]) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("pdftotext cannot run ({error}): install poppler-utils (scripts/test.sh does)")
        });
    child.stdin.take().expect("pdftotext's stdin").write_all(pdf).expect("write the PDF to pdftotext");
    let output = child.wait_with_output().expect("pdftotext finishes");
    assert!(
        output.status.success(),
        "pdftotext could not read the PDF: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

//! Test support for the black-box tests: a local gateway started in process on a random port of
//! 127.0.0.1, over a fresh SQLite file or a fresh table on the moto server, and a real HTTP client.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value;
use switchboard_local::Gateway;
use switchboard_shared::auth::{TokenMinter, TokenVerifier};
use switchboard_shared::config::{dynamodb_client_for_endpoint, TEST_DYNAMODB_ENDPOINT};
use switchboard_shared::domain::Role;
use switchboard_shared::store::dynamo::DynamoItemStore;
use switchboard_shared::store::sqlite::SqliteItemStore;
use switchboard_shared::store::{
    Condition, Item, ItemStore, Key, Page, Query, StoreError, TxOp, UpdateAction,
};
use switchboard_shared::App;

/// Secret the test gateways sign and verify tokens with.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret!";
/// Issuer the test gateways check.
pub const ISSUER: &str = "switchboard";
/// Audience the test gateways check.
pub const AUDIENCE: &str = "switchboard-api";

/// Which database a test gateway runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh table on the moto server named by `SWITCHBOARD_TEST_DYNAMODB_ENDPOINT`.
    DynamoDb,
}

/// The item store the gateway uses, counting the calls each operation makes.
pub struct CountingStore {
    inner: Arc<dyn ItemStore>,
    calls: Mutex<BTreeMap<&'static str, usize>>,
    total: AtomicUsize,
}

impl CountingStore {
    fn count(&self, operation: &'static str) {
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
        self.count("get");
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        self.count("put");
        self.inner.put(item, condition).await
    }
    async fn update(
        &self,
        key: &Key,
        actions: Vec<UpdateAction>,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        self.count("update");
        self.inner.update(key, actions, condition).await
    }
    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
        self.count("delete");
        self.inner.delete(key, condition).await
    }
    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.count("query");
        self.inner.query(query).await
    }
    async fn transact_write(&self, ops: Vec<TxOp>) -> Result<(), StoreError> {
        self.count("transact_write");
        self.inner.transact_write(ops).await
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

impl TestApi {
    /// Starts a gateway on `backend` with fresh, empty storage.
    pub async fn start(backend: Backend) -> Self {
        let (inner, dir): (Arc<dyn ItemStore>, Option<tempfile::TempDir>) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::TempDir::new().expect("temporary directory");
                let store =
                    SqliteItemStore::open(&dir.path().join("switchboard.db")).expect("open SQLite store");
                (Arc::new(store), Some(dir))
            }
            Backend::DynamoDb => {
                let endpoint = std::env::var(TEST_DYNAMODB_ENDPOINT).unwrap_or_else(|_| {
                    panic!(
                        "{TEST_DYNAMODB_ENDPOINT} is not set: run the tests with scripts/test.sh, which starts a moto server"
                    )
                });
                let table = format!("api-{}", ulid::Ulid::new().to_string().to_lowercase());
                let store = DynamoItemStore::new(dynamodb_client_for_endpoint(&endpoint).await, table);
                store.create_table().await.expect("create a table on the moto server");
                (Arc::new(store), None)
            }
        };
        let store = Arc::new(CountingStore { inner, calls: Mutex::default(), total: AtomicUsize::new(0) });
        let verifier = TokenVerifier::hs256(TEST_SECRET.as_bytes(), ISSUER, AUDIENCE);
        let gateway = Gateway::new(App::new(store.clone()), verifier).expect("gateway routes");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(gateway.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            base: format!("http://127.0.0.1:{port}/api/v1"),
            client: reqwest::Client::new(),
            store,
            minter: TokenMinter::hs256(TEST_SECRET.as_bytes(), ISSUER, AUDIENCE),
            shutdown: Some(shutdown),
            _dir: dir,
        }
    }

    /// A valid token for a user in a role.
    pub fn token(&self, sub: &str, role: Role) -> String {
        self.minter.mint(sub, role, Some(sub), 3600).expect("mint a token")
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
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

impl Drop for TestApi {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

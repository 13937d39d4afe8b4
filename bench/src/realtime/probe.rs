//! Timing probes inside the gateway: the item store and the Management API client the gateway's
//! `App` is built with are wrapped so that every store call and every post is recorded with its
//! start and end. The wrappers only add two clock reads and a short-held lock per call.
//!
//! The Management API client is chosen with [`PostVia`]: the production one (the AWS SDK posting
//! over HTTP to the gateway's own `/@connections`), a bare HTTP client posting to the same
//! endpoint, or the local gateway's in-process delivery (its default). Comparing them splits a
//! fan-out's time between the SDK, HTTP and the gateway itself.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::http::StatusCode;
use switchboard_local::ws::{Connections, LocalRealtime};
use switchboard_shared::domain::ConnectionId;
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::realtime::{PostError, Realtime};
use switchboard_shared::store::{
    Condition, Item, ItemStore, Key, NamedTxOp, Page, Query, StoreError, UpdateAction, PK,
};

/// What a recorded call was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// A store call: its operation (`get`, `put`, `update`, `delete`, `query`, `transact_write`)
    /// and what it touched: the index and the partition's prefix for a query (`gsi1 SUBS`), the
    /// key's prefix otherwise (`CONN`).
    Store {
        /// The operation.
        op: &'static str,
        /// What it touched.
        target: String,
    },
    /// A post to a connection, and whether it succeeded.
    Post {
        /// The post succeeded (200).
        ok: bool,
    },
}

/// One recorded call.
#[derive(Debug, Clone)]
pub struct Event {
    /// What it was.
    pub call: Call,
    /// When it started.
    pub start: Instant,
    /// When it returned.
    pub end: Instant,
}

impl Event {
    /// How long it took.
    pub fn duration(&self) -> Duration {
        self.end.saturating_duration_since(self.start)
    }

    /// Whether this is a store call of `op` whose target contains `target`.
    pub fn is_store(&self, op: &str, target: &str) -> bool {
        matches!(&self.call, Call::Store { op: o, target: t } if *o == op && t.contains(target))
    }

    /// Whether this is a post.
    pub fn is_post(&self) -> bool {
        matches!(self.call, Call::Post { .. })
    }
}

/// The record of the gateway's store calls and posts, and whether it is busy.
#[derive(Debug)]
pub struct Probe {
    origin: Instant,
    in_flight: AtomicUsize,
    last_end_nanos: AtomicU64,
    events: Mutex<Vec<Event>>,
}

impl Probe {
    /// An empty probe.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            origin: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_end_nanos: AtomicU64::new(0),
            events: Mutex::new(Vec::new()),
        })
    }

    fn events(&self) -> MutexGuard<'_, Vec<Event>> {
        // Every change under the lock is one push or one swap, so a poisoned lock is still sound.
        self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Times `work` as `call` (`call` sees the result to tell a post's success).
    async fn time<T, F>(&self, work: F, call: impl FnOnce(&T) -> Call) -> T
    where
        F: std::future::Future<Output = T>,
    {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let start = Instant::now();
        let result = work.await;
        let end = Instant::now();
        let since_origin =
            u64::try_from(end.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX);
        self.last_end_nanos.fetch_max(since_origin, Ordering::SeqCst);
        self.events().push(Event { call: call(&result), start, end });
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// The calls recorded since the last `take`, oldest first by start; the record starts over.
    pub fn take(&self) -> Vec<Event> {
        let mut events = std::mem::take(&mut *self.events());
        events.sort_by_key(|e| e.start);
        events
    }

    /// When the last call ended (`None` before the first).
    pub fn last_end(&self) -> Option<Instant> {
        match self.last_end_nanos.load(Ordering::SeqCst) {
            0 => None,
            nanos => Some(self.origin + Duration::from_nanos(nanos)),
        }
    }

    /// How long the gateway has made no store call and no post (zero while one is in flight).
    pub fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        self.last_end().map_or_else(|| self.origin.elapsed(), |end| end.elapsed())
    }
}

/// The prefix of a key value up to its first `#` (`SUBS#01J…` → `SUBS`).
fn prefix(value: &str) -> &str {
    value.split('#').next().unwrap_or(value)
}

/// The record of a store call of `op` on `target`, whatever its result.
fn store_call<T>(op: &'static str, target: String) -> impl FnOnce(&T) -> Call {
    move |_| Call::Store { op, target }
}

/// The gateway's item store, timed.
pub struct ProbedStore {
    inner: Arc<dyn ItemStore>,
    probe: Arc<Probe>,
}

impl ProbedStore {
    /// Wraps `inner`, recording into `probe`.
    pub fn new(inner: Arc<dyn ItemStore>, probe: Arc<Probe>) -> Self {
        Self { inner, probe }
    }
}

#[async_trait]
impl ItemStore for ProbedStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let call = store_call("get", prefix(&key.pk).to_owned());
        self.probe.time(self.inner.get(key), call).await
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        let target =
            item.get(PK).and_then(|v| v.as_str()).map(|pk| prefix(pk).to_owned()).unwrap_or_default();
        let call = store_call("put", target);
        self.probe.time(self.inner.put(item, condition), call).await
    }

    async fn update(
        &self,
        key: &Key,
        actions: Vec<UpdateAction>,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        let call = store_call("update", prefix(&key.pk).to_owned());
        self.probe.time(self.inner.update(key, actions, condition), call).await
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
        let call = store_call("delete", prefix(&key.pk).to_owned());
        self.probe.time(self.inner.delete(key, condition), call).await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        let target = format!("{} {}", query.index.unwrap_or("table"), prefix(&query.partition));
        let call = store_call("query", target);
        self.probe.time(self.inner.query(query), call).await
    }

    async fn transact_write(&self, ops: Vec<NamedTxOp>) -> Result<(), StoreError> {
        let call = store_call("transact_write", format!("{} ops", ops.len()));
        self.probe.time(self.inner.transact_write(ops), call).await
    }
}

/// How the gateway's fan-out posts to connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PostVia {
    /// The production client: the AWS SDK's `PostToConnection`, SigV4-signed, over HTTP to the
    /// gateway's own `/@connections/{id}` (what the local gateway does).
    Sdk,
    /// A bare HTTP client (reqwest) posting to the same endpoint, unsigned but for the header the
    /// endpoint checks for: the SDK's own cost removed.
    Http,
    /// The local gateway's in-process delivery (`LocalRealtime`, what `switchboard-local serve`
    /// does by default): no HTTP at all.
    InProcess,
}

/// The Management API client of [`PostVia::Http`].
struct HttpPoster {
    client: reqwest::Client,
    root: String,
}

/// Percent-encodes a connection id for a path segment (its base64 has `+`, `/` and `=`).
fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len() + 8);
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What the gateway's Management API checks for: a SigV4 `Authorization` header (not its
/// signature).
const UNSIGNED_AUTHORIZATION: &str =
    "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=0";

fn post_result(status: StatusCode) -> Result<(), PostError> {
    match status {
        StatusCode::OK => Ok(()),
        StatusCode::GONE => Err(PostError::Gone),
        other => Err(PostError::Failed(format!("HTTP {other}"))),
    }
}

impl HttpPoster {
    async fn post(&self, connection: &ConnectionId, frame: &[u8]) -> Result<(), PostError> {
        let response = self
            .client
            .post(format!("{}/@connections/{}", self.root, path_segment(connection.as_str())))
            .header("authorization", UNSIGNED_AUTHORIZATION)
            .body(frame.to_vec())
            .send()
            .await
            .map_err(|e| PostError::Failed(e.to_string()))?;
        post_result(response.status())
    }
}

enum Poster {
    Sdk(ApiGatewayRealtime),
    Http(HttpPoster),
    InProcess(LocalRealtime),
}

/// The gateway's Management API client, timed.
pub struct ProbedRealtime {
    poster: Poster,
    probe: Arc<Probe>,
}

impl ProbedRealtime {
    /// A client of kind `via` for the gateway at `root` (`http://127.0.0.1:<port>`) serving
    /// `connections`, recording into `probe`.
    pub fn new(via: PostVia, root: &str, connections: Arc<Connections>, probe: Arc<Probe>) -> Self {
        let poster = match via {
            PostVia::Sdk => Poster::Sdk(ApiGatewayRealtime::for_endpoint(root)),
            PostVia::Http => {
                Poster::Http(HttpPoster { client: reqwest::Client::new(), root: root.to_owned() })
            }
            PostVia::InProcess => Poster::InProcess(LocalRealtime::new(connections)),
        };
        Self { poster, probe }
    }
}

#[async_trait]
impl Realtime for ProbedRealtime {
    async fn post(&self, connection: &ConnectionId, frame: &[u8]) -> Result<(), PostError> {
        let work = async {
            match &self.poster {
                Poster::Sdk(sdk) => sdk.post(connection, frame).await,
                Poster::Http(http) => http.post(connection, frame).await,
                Poster::InProcess(local) => local.post(connection, frame).await,
            }
        };
        self.probe.time(work, |result| Call::Post { ok: result.is_ok() }).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_ids_are_percent_encoded_for_the_path() {
        assert_eq!(path_segment("L0SM9c+OFv/Chw="), "L0SM9c%2BOFv%2FChw%3D");
    }

    #[test]
    fn key_prefixes_stop_at_the_first_separator() {
        assert_eq!(prefix("SUBS#01J#x"), "SUBS");
        assert_eq!(prefix("META"), "META");
    }
}

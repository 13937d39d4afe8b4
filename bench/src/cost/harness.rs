//! The gateway under measurement and the client that drives it: the local gateway served in
//! process on a random port of 127.0.0.1 over an in-memory SQLite store, its store metered
//! ([`MeteredStore`]), its functions, feed batches and pushes counted ([`super::ports`]); and a
//! [`Run`] that makes REST calls and WebSocket frames as a client, counts what API Gateway bills
//! on its side (requests, messages in 32 KB units, connection minutes, authorizer calls) and
//! splits everything into actions.
//!
//! Time is the shared library's simulated clock (`sim-clock`), moved by the profile, so a
//! ten-minute conversation takes milliseconds and connection minutes and rate limits behave as
//! they would over ten minutes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use switchboard_local::ws::{Connections, LocalRealtime};
use switchboard_local::Gateway;
use switchboard_shared::auth::{TokenMinter, TokenVerifier};
use switchboard_shared::changes::consumer::{self, ConsumerHandle};
use switchboard_shared::changes::sqlite::SqliteFeed;
use switchboard_shared::domain::{clock, Role};
use switchboard_shared::push::local::LocalPush;
use switchboard_shared::store::sqlite::SqliteItemStore;
use switchboard_shared::store::ItemStore;
use switchboard_shared::App;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::ports::{self, CountingFeed, CountingPush, Invocations};
use super::usage::Usage;
use crate::metering::store::{MeteredStore, Units};
use crate::realtime::client::Socket;
use crate::realtime::{BenchError, Result};

const SECRET: &[u8] = b"cost-bench-secret-cost-bench-secret!!";
const ISSUER: &str = "switchboard";
const AUDIENCE: &str = "switchboard-api";
const TOKEN_TTL_SECONDS: u64 = 24 * 3600;
/// How long the REST authorizer's answer is cached per token (`ReauthorizeEvery` in the template).
pub const REST_AUTHORIZER_TTL_MS: i64 = 300_000;
/// A WebSocket message is billed per this many bytes.
const WS_UNIT_BYTES: usize = 32 * 1024;
/// How long the client waits for a frame or a function it expects.
const WAIT: Duration = Duration::from_secs(30);
/// The function that handles `$disconnect`.
const DISCONNECT_FUNCTION: &str = "realtime-disconnect";

/// The gateway with its metering ports.
pub struct CostGateway {
    root: String,
    ws_root: String,
    store: Arc<MeteredStore<SqliteItemStore>>,
    invocations: Arc<Invocations>,
    feed: Arc<CountingFeed>,
    push: Arc<CountingPush>,
    consumer: ConsumerHandle,
    minter: TokenMinter,
    rest: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
}

impl CostGateway {
    /// Starts the gateway on the current runtime, its clock at `start_ms` (epoch milliseconds).
    pub async fn start(start_ms: i64) -> Result<Self> {
        clock::set(start_ms);
        ports::install_log_counter();
        let sqlite = SqliteItemStore::in_memory().map_err(|e| BenchError::Setup(format!("SQLite: {e}")))?;
        let store = Arc::new(MeteredStore::new(sqlite.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let connections = Arc::new(Connections::default());
        let push = Arc::new(CountingPush::new(Arc::new(LocalPush::default())));
        let app = App::new(
            store.clone() as Arc<dyn ItemStore>,
            Arc::new(LocalRealtime::new(Arc::clone(&connections))),
        )
        .with_push(push.clone());
        let sqlite_feed =
            SqliteFeed::open(sqlite).await.map_err(|e| BenchError::Setup(format!("the change feed: {e}")))?;
        let feed = Arc::new(CountingFeed::new(Arc::new(sqlite_feed)));
        let consumer = consumer::spawn(app.clone(), feed.clone());
        let invocations = Arc::new(Invocations::default());
        let verifier = TokenVerifier::hs256(SECRET, ISSUER, AUDIENCE);
        let gateway = Gateway::with_connections(app, verifier, connections)
            .map_err(|e| BenchError::Setup(format!("building the gateway: {e}")))?
            .consuming_feed(consumer.clone())
            .observing_invocations(invocations.clone());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(gateway.serve(listener, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            root: format!("http://127.0.0.1:{port}"),
            ws_root: format!("ws://127.0.0.1:{port}"),
            store,
            invocations,
            feed,
            push,
            consumer,
            minter: TokenMinter::hs256(SECRET, ISSUER, AUDIENCE),
            rest: reqwest::Client::new(),
            shutdown: Some(shutdown),
        })
    }

    /// A token for `user` in `role`.
    pub fn token(&self, user: &str, role: Role) -> Result<String> {
        self.minter
            .mint(user, role, Some(user), TOKEN_TTL_SECONDS)
            .map_err(|e| BenchError::Setup(format!("minting a token: {e}")))
    }

    /// What the server side metered so far.
    fn server_usage(&self) -> Usage {
        let (units, calls) = self.store.read(|metered| metered.totals()).unwrap_or_default();
        let (invocations, handler_ms) = self.invocations.totals();
        let (batches, records) = self.feed.totals();
        let (_, bytes) = ports::logged();
        let invocations = invocations + batches;
        Usage {
            invocations: invocations as f64,
            // A feed batch's handler time here is its DynamoDB calls' (counted below), at least 1 ms.
            billed_ms: handler_ms + batches as f64 + calls as f64 * ports::DYNAMODB_CALL_MS,
            write_units: units.write,
            read_units: units.read,
            dynamodb_calls: calls as f64,
            stream_records: records as f64,
            pushes: self.push.published() as f64,
            log_bytes: (bytes + invocations * ports::platform_bytes_per_invocation()) as f64,
            ..Usage::default()
        }
    }
}

impl Drop for CostGateway {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Counts by name.
pub type Counts = BTreeMap<String, f64>;

/// DynamoDB units per index and key pattern.
pub type Patterns = BTreeMap<(&'static str, String), Units>;

/// An open WebSocket of a [`Run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ws(usize);

struct Open {
    socket: Socket,
    opened_ms: i64,
}

/// One action's usage, summed over its occurrences.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// How many times it ran.
    pub count: u64,
    /// What they used together.
    pub usage: Usage,
}

/// A client session over the gateway: the clock, the sockets, the client-side meters, and the
/// actions measured so far.
pub struct Run<'a> {
    gateway: &'a CostGateway,
    now_ms: i64,
    client: Usage,
    authorized: HashMap<String, i64>,
    sockets: BTreeMap<Ws, Open>,
    next_socket: usize,
    started: Option<(Usage, Patterns, Counts)>,
    /// Frames the client sent and received, by `action` and `type`.
    frames: Counts,
    /// Per action, the DynamoDB units per index and key pattern (what a lever would change).
    pub patterns: BTreeMap<&'static str, Patterns>,
    /// Per action, the frames in and out by kind and the functions run.
    pub counts: BTreeMap<&'static str, Counts>,
    disconnects: u64,
    /// Per action, in the order first seen.
    pub actions: Vec<(&'static str, Tally)>,
}

/// A server frame's `type`, with a receipt's `status`.
fn kind(frame: &Value) -> String {
    let kind = frame["type"].as_str().unwrap_or("?");
    match frame["status"].as_str() {
        Some(status) if kind == "receipt" => format!("receipt {status}"),
        _ => kind.to_owned(),
    }
}

fn units(bytes: usize) -> f64 {
    bytes.div_ceil(WS_UNIT_BYTES).max(1) as f64
}

impl<'a> Run<'a> {
    /// A run on `gateway`, its clock where the gateway's is.
    pub fn new(gateway: &'a CostGateway, now_ms: i64) -> Self {
        Self {
            gateway,
            now_ms,
            client: Usage::default(),
            authorized: HashMap::new(),
            sockets: BTreeMap::new(),
            next_socket: 0,
            started: None,
            frames: Counts::new(),
            patterns: BTreeMap::new(),
            counts: BTreeMap::new(),
            disconnects: gateway.invocations.of(DISCONNECT_FUNCTION),
            actions: Vec::new(),
        }
    }

    /// The gateway.
    pub fn gateway(&self) -> &CostGateway {
        self.gateway
    }

    /// The clock.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Moves the clock on.
    pub fn advance(&mut self, ms: i64) {
        self.now_ms += ms;
        clock::set(self.now_ms);
    }

    fn usage(&self) -> Usage {
        self.gateway.server_usage() + self.client
    }

    fn patterns_now(&self) -> Patterns {
        self.gateway.store.read(|metered| metered.by_pattern().into_iter().collect()).unwrap_or_default()
    }

    fn counts_now(&self) -> Counts {
        let mut counts = self.frames.clone();
        for (function, ran) in self.gateway.invocations.by_function() {
            counts.insert(format!("function {function}"), ran as f64);
        }
        counts.insert("function changes-process (feed batches)".into(), self.gateway.feed.totals().0 as f64);
        counts
    }

    /// Starts measuring an action.
    pub fn begin(&mut self) {
        self.started = Some((self.usage(), self.patterns_now(), self.counts_now()));
    }

    /// Ends the action begun last: waits for its reactions (the change feed drained, then every
    /// open socket's frames read up to a barrier) and adds what it used to `name`.
    pub async fn end(&mut self, name: &'static str) -> Result<()> {
        self.settle().await?;
        let (before, patterns_before, counts_before) =
            self.started.take().ok_or_else(|| BenchError::Setup(format!("{name}: not begun")))?;
        let counted = self.counts_now();
        let counts = self.counts.entry(name).or_default();
        for (key, now) in counted {
            *counts.entry(key.clone()).or_default() += now - counts_before.get(&key).copied().unwrap_or(0.0);
        }
        counts.retain(|_, count| *count != 0.0);
        let used = self.usage() - before;
        let now = self.patterns_now();
        let patterns = self.patterns.entry(name).or_default();
        for (key, units) in now {
            let was = patterns_before.get(&key).copied().unwrap_or_default();
            let entry = patterns.entry(key).or_default();
            entry.write += units.write - was.write;
            entry.read += units.read - was.read;
        }
        patterns.retain(|_, units| units.write != 0.0 || units.read != 0.0);
        match self.actions.iter_mut().find(|(action, _)| *action == name) {
            Some((_, tally)) => {
                tally.count += 1;
                tally.usage = tally.usage + used;
            }
            None => self.actions.push((name, Tally { count: 1, usage: used })),
        }
        Ok(())
    }

    /// Waits until nothing more happens: every socket read to a `ping` barrier (a connection's
    /// frames are handled in order, so every frame sent before is handled and its posts are
    /// queued), the feed drained, then every socket read to a barrier again (the reactions'
    /// posts). The barriers' frames are not counted.
    pub async fn settle(&mut self) -> Result<()> {
        self.barrier().await?;
        self.gateway.consumer.drain().await.map_err(|e| BenchError::Protocol(e.to_string()))?;
        self.barrier().await
    }

    async fn barrier(&mut self) -> Result<()> {
        let handles: Vec<Ws> = self.sockets.keys().copied().collect();
        for ws in &handles {
            self.write(*ws, &json!({"action": "ping", "ref": "barrier"}), false).await?;
        }
        for ws in handles {
            while self.read(ws, |frame| frame["type"] == "pong" && frame["ref"] == "barrier").await?.is_none()
            {
            }
        }
        Ok(())
    }

    /// A REST call as `token`; fails unless the status is 2xx. Counts the request, and the
    /// authorizer when the token's cached answer ran out.
    pub async fn rest(
        &mut self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        self.client.rest_requests += 1.0;
        let cached = self.authorized.get(token).is_some_and(|at| self.now_ms - at < REST_AUTHORIZER_TTL_MS);
        if !cached {
            self.authorized.insert(token.to_owned(), self.now_ms);
            self.authorizer_ran();
        }
        let mut request = self
            .gateway
            .rest
            .request(method.clone(), format!("{}/api/v1{path}", self.gateway.root))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(BenchError::Protocol(format!("{method} {path}: {status} {text}")));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The authorizer function ran once (it checks a signature: 1 ms, no DynamoDB call).
    fn authorizer_ran(&mut self) {
        self.client.invocations += 1.0;
        self.client.billed_ms += 1.0;
        self.client.log_bytes += ports::platform_bytes_per_invocation() as f64;
    }

    /// Opens a WebSocket as `token` (the authorizer and `$connect` run).
    pub async fn connect(&mut self, token: &str) -> Result<Ws> {
        let (socket, _) =
            tokio_tungstenite::connect_async(format!("{}/ws?token={token}", self.gateway.ws_root)).await?;
        self.authorizer_ran();
        let ws = Ws(self.next_socket);
        self.next_socket += 1;
        self.sockets.insert(ws, Open { socket, opened_ms: self.now_ms });
        Ok(ws)
    }

    /// Closes a WebSocket and waits for its `$disconnect`; its minutes are billed, rounded up.
    pub async fn disconnect(&mut self, ws: Ws) -> Result<()> {
        let mut open = self.sockets.remove(&ws).ok_or_else(|| BenchError::Setup("no such socket".into()))?;
        open.socket.close(None).await?;
        let minutes = ((self.now_ms - open.opened_ms) as f64 / 60_000.0).ceil().max(1.0);
        self.client.connection_minutes += minutes;
        self.disconnects += 1;
        self.gateway
            .invocations
            .reached(DISCONNECT_FUNCTION, self.disconnects, WAIT)
            .await
            .ok_or_else(|| BenchError::Protocol("$disconnect did not run".into()))
    }

    /// Bills the minutes since `since_ms` (rounded up) to a connection kept open across actions.
    pub fn connected_for(&mut self, since_ms: i64) {
        self.client.connection_minutes += ((self.now_ms - since_ms) as f64 / 60_000.0).ceil().max(1.0);
    }

    /// Sends a frame (counted as a message in, unless it is the benchmark's own).
    async fn write(&mut self, ws: Ws, frame: &Value, counted: bool) -> Result<()> {
        let text = frame.to_string();
        if counted {
            self.client.ws_in += units(text.len());
            *self.frames.entry(format!("in: {}", frame["action"].as_str().unwrap_or("?"))).or_default() +=
                1.0;
        }
        let open = self.sockets.get_mut(&ws).ok_or_else(|| BenchError::Setup("no such socket".into()))?;
        open.socket.send(WsMessage::text(text)).await?;
        Ok(())
    }

    /// The next text frame of `ws`, parsed, with its size.
    async fn next_frame(&mut self, ws: Ws) -> Result<(Value, usize)> {
        let open = self.sockets.get_mut(&ws).ok_or_else(|| BenchError::Setup("no such socket".into()))?;
        loop {
            let message = tokio::time::timeout(WAIT, open.socket.next())
                .await
                .map_err(|_| BenchError::Protocol("no frame came".into()))?
                .ok_or_else(|| BenchError::Protocol("the socket closed".into()))??;
            let WsMessage::Text(text) = message else { continue };
            let frame = serde_json::from_str(text.as_str())
                .map_err(|e| BenchError::Protocol(format!("a frame that is not JSON: {e}")))?;
            return Ok((frame, text.len()));
        }
    }

    /// Counts a frame received (a message out, in 32 KB units).
    fn received(&mut self, frame: &Value, bytes: usize) {
        self.client.ws_out += units(bytes);
        *self.frames.entry(format!("out: {}", kind(frame))).or_default() += 1.0;
    }

    /// Reads one frame: returns it when `barrier` accepts it (uncounted: the benchmark's own),
    /// else counts it and returns `None`. An `error` frame fails the run: a profile makes none.
    async fn read(&mut self, ws: Ws, barrier: impl Fn(&Value) -> bool) -> Result<Option<Value>> {
        let (frame, bytes) = self.next_frame(ws).await?;
        if barrier(&frame) {
            return Ok(Some(frame));
        }
        if frame["type"] == "error" {
            return Err(BenchError::Protocol(format!("an error frame: {frame}")));
        }
        self.received(&frame, bytes);
        Ok(None)
    }

    /// Sends a frame and returns the frame that answers its `ref` (every frame read on the way is
    /// counted, the answer too).
    pub async fn request(&mut self, ws: Ws, mut frame: Value, reference: &str) -> Result<Value> {
        frame["ref"] = json!(reference);
        self.write(ws, &frame, true).await?;
        loop {
            let (answer, bytes) = self.next_frame(ws).await?;
            self.received(&answer, bytes);
            if answer["ref"] == reference {
                if answer["type"] == "error" {
                    return Err(BenchError::Protocol(format!("{reference}: {answer}")));
                }
                return Ok(answer);
            }
        }
    }

    /// Sends a frame that has no reply.
    pub async fn tell(&mut self, ws: Ws, frame: Value) -> Result<()> {
        self.write(ws, &frame, true).await
    }
}

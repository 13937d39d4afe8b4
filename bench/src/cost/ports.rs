//! The metering ports the gateway runs with, besides the metered item store
//! ([`crate::metering::store`]): every function the gateway runs ([`Invocations`]), the change
//! feed's batches ([`CountingFeed`]), the pushes ([`CountingPush`]) and the log lines the
//! functions write at `info` ([`install_log_counter`]).
//!
//! **Lambda's billed time is an estimate**, since the functions run here over SQLite in
//! microseconds where DynamoDB answers in milliseconds: each invocation bills its handler time
//! measured here rounded up to the millisecond, plus [`DYNAMODB_CALL_MS`] per DynamoDB call and
//! [`POST_MS`] per WebSocket message it sends, as if none overlapped (an upper bound).

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use switchboard_local::gateway::InvocationObserver;
use switchboard_shared::changes::{effects, ChangeFeed, ChangeRecord};
use switchboard_shared::push::{DeviceToken, EndpointState, Platform, Push, PushError};
use switchboard_shared::store::StoreError;
use tokio::sync::Notify;

/// Milliseconds one DynamoDB call adds to a handler's billed time (single-item reads and
/// writes answer in single-digit milliseconds in the region; transactions take longer, queries
/// of a few items less).
pub const DYNAMODB_CALL_MS: f64 = 5.0;
/// Milliseconds one post to a connection (the Management API) adds to a handler's billed time.
pub const POST_MS: f64 = 5.0;
/// The function that answers `ping`: the benchmark's own barrier, never counted.
pub const BARRIER_FUNCTION: &str = "realtime-ping";

#[derive(Debug, Default)]
struct Ran {
    by_function: HashMap<&'static str, u64>,
    billed_ms: f64,
}

/// Counts the functions the gateway ran and their handler time, rounded up per invocation.
#[derive(Debug, Default)]
pub struct Invocations {
    ran: Mutex<Ran>,
    changed: Notify,
}

impl Invocations {
    /// Invocations so far (all functions) and their billed handler milliseconds.
    pub fn totals(&self) -> (u64, f64) {
        self.ran.lock().map(|ran| (ran.by_function.values().sum(), ran.billed_ms)).unwrap_or_default()
    }

    /// Invocations so far, per function.
    pub fn by_function(&self) -> HashMap<&'static str, u64> {
        self.ran.lock().map(|ran| ran.by_function.clone()).unwrap_or_default()
    }

    /// Invocations of `function` so far.
    pub fn of(&self, function: &str) -> u64 {
        self.ran.lock().ok().and_then(|ran| ran.by_function.get(function).copied()).unwrap_or(0)
    }

    /// Resolves once `function` ran `count` times in all; `None` after `timeout`.
    pub async fn reached(&self, function: &str, count: u64, timeout: Duration) -> Option<()> {
        tokio::time::timeout(timeout, async {
            loop {
                let changed = self.changed.notified();
                if self.of(function) >= count {
                    return;
                }
                changed.await;
            }
        })
        .await
        .ok()
    }
}

impl InvocationObserver for Invocations {
    fn invoked(&self, function: &'static str, took: Duration) {
        if function == BARRIER_FUNCTION {
            return;
        }
        if let Ok(mut ran) = self.ran.lock() {
            *ran.by_function.entry(function).or_default() += 1;
            ran.billed_ms += (took.as_secs_f64() * 1000.0).ceil().max(1.0);
        }
        self.changed.notify_waiters();
    }
}

/// A change feed that counts the records read from it and the batches that invoke the feed's
/// function in AWS: those with a record a reaction follows (the event-source mapping filters
/// the rest out, `changes::effects::followed`).
pub struct CountingFeed {
    inner: Arc<dyn ChangeFeed>,
    batches: AtomicU64,
    records: AtomicU64,
}

impl CountingFeed {
    /// Counts what `inner` hands over.
    pub fn new(inner: Arc<dyn ChangeFeed>) -> Self {
        Self { inner, batches: AtomicU64::new(0), records: AtomicU64::new(0) }
    }

    /// Batches and records so far.
    pub fn totals(&self) -> (u64, u64) {
        (self.batches.load(Ordering::SeqCst), self.records.load(Ordering::SeqCst))
    }
}

#[async_trait]
impl ChangeFeed for CountingFeed {
    async fn next_batch(&self, limit: usize) -> Result<Vec<ChangeRecord>, StoreError> {
        let batch = self.inner.next_batch(limit).await?;
        self.records.fetch_add(batch.len() as u64, Ordering::SeqCst);
        if batch.iter().any(|record| effects::followed(&record.pk, &record.sk, record.kind).is_some()) {
            self.batches.fetch_add(1, Ordering::SeqCst);
        }
        Ok(batch)
    }

    async fn checkpoint(&self, record: &ChangeRecord) -> Result<(), StoreError> {
        self.inner.checkpoint(record).await
    }

    async fn rewind(&self) {
        self.inner.rewind().await;
    }

    async fn changed(&self, idle: Duration) {
        self.inner.changed(idle).await;
    }
}

/// A push port that counts what it publishes (each one SNS publish and one mobile push).
pub struct CountingPush {
    inner: Arc<dyn Push>,
    published: AtomicU64,
}

impl CountingPush {
    /// Counts what goes through `inner`.
    pub fn new(inner: Arc<dyn Push>) -> Self {
        Self { inner, published: AtomicU64::new(0) }
    }

    /// Publishes so far.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Push for CountingPush {
    async fn create_endpoint(
        &self,
        platform: Platform,
        token: &DeviceToken,
        user_data: &str,
    ) -> Result<String, PushError> {
        self.inner.create_endpoint(platform, token, user_data).await
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

    fn keeps_payloads(&self) -> bool {
        self.inner.keeps_payloads()
    }

    async fn publish(&self, arn: &str, message: &str) -> Result<String, PushError> {
        self.published.fetch_add(1, Ordering::SeqCst);
        self.inner.publish(arn, message).await
    }
}

/// The bytes CloudWatch Logs counts per log event besides its text.
pub const LOG_EVENT_OVERHEAD: u64 = 26;

/// What Lambda's `lambda_runtime` adds to a JSON line written outside the function's own span
/// (its invoke span is then the current one): `,"span":{…}` with a request id and an X-Ray
/// trace header.
pub fn invoke_span_bytes() -> u64 {
    let span = r#","span":{"requestId":"c6af9ac6-7b61-11e6-9a41-93e812345678","xrayTraceId":"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=1:a0b1c2d3:0","name":"Lambda runtime invoke"}"#;
    span.len() as u64
}

/// The lines Lambda itself writes per invocation, with their per-event overhead: none when the
/// template's functions log at system level `WARN`; otherwise START, END and REPORT (the text
/// format's, the smallest).
pub fn platform_bytes_per_invocation() -> u64 {
    if switchboard_local::template::TEMPLATE.contains("      SystemLogLevel: WARN\n") {
        return 0;
    }
    let lines = [
        "START RequestId: c6af9ac6-7b61-11e6-9a41-93e812345678 Version: $LATEST\n",
        "END RequestId: c6af9ac6-7b61-11e6-9a41-93e812345678\n",
        "REPORT RequestId: c6af9ac6-7b61-11e6-9a41-93e812345678\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 21 MB\t\n",
    ];
    lines.iter().map(|line| line.len() as u64 + LOG_EVENT_OVERHEAD).sum()
}

static LOG_BYTES: AtomicU64 = AtomicU64::new(0);
static LOG_EVENTS: AtomicU64 = AtomicU64::new(0);

/// Log lines written so far by the functions' code at `info` (JSON, as in Lambda), and the bytes
/// CloudWatch would ingest for them (with the invoke span where Lambda adds it, and the per-event
/// overhead).
pub fn logged() -> (u64, u64) {
    (LOG_EVENTS.load(Ordering::SeqCst), LOG_BYTES.load(Ordering::SeqCst))
}

/// Set (to anything) to see the counted lines on stderr.
pub const ECHO_LOGS: &str = "COST_BENCH_ECHO_LOGS";

struct CountingWriter {
    echo: bool,
}

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A line written outside the request's span has `lambda_runtime`'s invoke span in Lambda.
        let own_span = buf.windows(7).any(|window| window == br#""span":"#);
        let span = if own_span { 0 } else { invoke_span_bytes() };
        LOG_BYTES.fetch_add(buf.len() as u64 + span + LOG_EVENT_OVERHEAD, Ordering::SeqCst);
        if self.echo {
            let _ = std::io::stderr().write_all(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the process's tracing subscriber: the functions' JSON lines at `info`, formatted by
/// the functions' own layer (`switchboard_shared::telemetry::json_lines`), counted and dropped. The gateway's own lines
/// (`switchboard_local`) and the benchmark's are left out: Lambda has neither. With
/// [`ECHO_LOGS`] set, the lines go to stderr too. A second call keeps the first subscriber.
pub fn install_log_counter() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = Targets::new()
        .with_target("switchboard_local", LevelFilter::OFF)
        .with_target("switchboard_bench", LevelFilter::OFF)
        .with_target("switchboard", LevelFilter::INFO)
        .with_default(LevelFilter::OFF);
    let echo = std::env::var_os(ECHO_LOGS).is_some();
    let layer = switchboard_shared::telemetry::json_lines(move || {
        LOG_EVENTS.fetch_add(1, Ordering::SeqCst);
        CountingWriter { echo }
    });
    let _ = tracing_subscriber::registry().with(layer).with(filter).try_init();
}

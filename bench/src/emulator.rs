//! A minimal Lambda Runtime API on 127.0.0.1: starts one function binary, times its init (exec →
//! first `GET /runtime/invocation/next`), hands it one event and reads its peak RSS after the answer.
//!
//! Nothing leaves the machine: the Runtime API is on loopback, and `AWS_ENDPOINT_URL` points the
//! function's AWS clients back at the emulator, which answers every AWS call with a DynamoDB
//! `ResourceNotFoundException` (there is no table), so a route function answers its one event with
//! its error response instead of reaching AWS.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Path prefix of the Lambda Runtime API.
pub const RUNTIME_API: &str = "/2018-06-01/runtime";
/// The request id of the one invocation a run hands out.
const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
/// HS256 secret of the event fixtures' tokens (`events/README.md`): the authorizer accepts them.
pub const FIXTURE_JWT_SECRET: &str = "switchboard-fixture-secret-0123456789abcdef";
/// How often a run checks whether the function exited early.
const EXIT_POLL: Duration = Duration::from_millis(10);

/// A binary to start and the event to hand it.
#[derive(Debug, Clone)]
pub struct Function {
    /// Function name: the binary's file name.
    pub name: String,
    /// Path of the binary.
    pub path: PathBuf,
    /// The event (JSON) of its one invocation.
    pub event: Bytes,
}

impl Function {
    /// A function named after its binary's file name.
    pub fn new(path: impl Into<PathBuf>, event: impl Into<Bytes>) -> Self {
        let path = path.into();
        let name =
            path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
        Self { name, path, event: event.into() }
    }
}

/// How a run starts a function.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Longest wait for init, and again for the answer to the event.
    pub timeout: Duration,
    /// Let the function write to this process's stdout and stderr (discarded otherwise).
    pub show_output: bool,
    /// Variables added to (or overriding) [`lambda_environment`], for experiments.
    pub extra_env: Vec<(String, String)>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(10), show_output: false, extra_env: Vec::new() }
    }
}

/// What one start of a function measured.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Exec → first `GET /runtime/invocation/next`: the cold start before the first event.
    pub init: Duration,
    /// Event handed out → answer posted: the first (cold-client) invocation.
    pub first_invocation: Duration,
    /// Peak resident set (`VmHWM`) after the first invocation, in KiB.
    pub peak_rss_kib: u64,
    /// AWS API calls the function made (all answered by the emulator).
    pub aws_calls: u32,
    /// How the function answered its event.
    pub outcome: Outcome,
}

/// How a function answered its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It posted a response.
    Response {
        /// `statusCode` when the response is an API Gateway proxy response.
        status: Option<u16>,
        /// The response body as posted.
        body: String,
    },
    /// It posted an invocation error.
    Error {
        /// `errorType` of the error document (or the raw body when it has none).
        error_type: String,
    },
}

/// Why a run produced no sample.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No loopback port for the Runtime API.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Listen(#[source] std::io::Error),
    /// The binary could not be started.
    #[error("cannot start {path}: {source}")]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The function reported an init error to the Runtime API.
    #[error("{name} reported an init error: {body}")]
    InitError {
        /// The function.
        name: String,
        /// The error document it posted.
        body: String,
    },
    /// The function exited on its own.
    #[error("{name} exited ({status}) while waiting for {stage}")]
    Exited {
        /// The function.
        name: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it had not done yet.
        stage: &'static str,
    },
    /// The function did not get there in time.
    #[error("{name} timed out after {timeout:?} waiting for {stage}")]
    TimedOut {
        /// The function.
        name: String,
        /// The timeout.
        timeout: Duration,
        /// What it had not done yet.
        stage: &'static str,
    },
    /// The function's memory could not be read.
    #[error("cannot read the peak RSS of {name} (pid {pid}) from /proc: {reason}")]
    PeakRss {
        /// The function.
        name: String,
        /// Its process id.
        pid: u32,
        /// Why.
        reason: String,
    },
    /// Waiting on the child process failed.
    #[error("cannot check on {name}: {source}")]
    Wait {
        /// The function.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The environment Lambda gives a function at init (`provided.al2023`, 128 MB), plus what
/// Switchboard's functions read at init: the table name, the WebSocket endpoint, the token secret, and an
/// `AWS_ENDPOINT_URL` that sends their AWS calls back to the emulator. The same environment for
/// every binary, so the reference pays for the same variables.
pub fn lambda_environment(function_name: &str, runtime_api: SocketAddr) -> Vec<(String, String)> {
    let pairs = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ("LANG", "C.UTF-8".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function_name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef".to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "x".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "x".to_owned()),
        ("AWS_ENDPOINT_URL", format!("http://{runtime_api}")),
        ("RUST_LOG", "info".to_owned()),
        ("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true".to_owned()),
        ("TABLE_NAME", "bench".to_owned()),
        ("WEBSOCKET_ENDPOINT", format!("http://{runtime_api}")),
        ("BULK_SEND_QUEUE_URL", format!("http://{runtime_api}/123456789012/bulk-send")),
        ("JWT_SECRET", FIXTURE_JWT_SECRET.to_owned()),
        // The fixtures' checked-in tokens live until 2100 (`events/README.md`).
        ("JWT_MAX_LIFETIME_SECONDS", "2400000000".to_owned()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Starts `function` once under a fresh Runtime API, hands it its event, and kills it after the
/// answer.
pub async fn run_once(function: &Function, options: &RunOptions) -> Result<Sample, RunError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.map_err(RunError::Listen)?;
    let address = listener.local_addr().map_err(RunError::Listen)?;
    let (signals, mut received) = mpsc::unbounded_channel();
    let api = Arc::new(Api {
        event: function.event.clone(),
        function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{}", function.name),
        handed_out: AtomicBool::new(false),
        aws_calls: AtomicU32::new(0),
        signals,
    });
    let app = router(Arc::clone(&api));
    let _server = AbortOnDrop(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }));

    let mut command = Command::new(&function.path);
    command
        .env_clear()
        .envs(lambda_environment(&function.name, address))
        .envs(options.extra_env.iter().cloned())
        .stdin(Stdio::null());
    if !options.show_output {
        command.stdout(Stdio::null()).stderr(Stdio::null());
    }
    // `spawn` returns once the exec succeeded, so `started` is just before the exec.
    let started = Instant::now();
    let child = command.spawn().map_err(|source| RunError::Spawn { path: function.path.clone(), source })?;
    let mut child = KillOnDrop(child);

    let mut waiter = Waiter { function, received: &mut received, timeout: options.timeout };
    let polled_at = match waiter.next(&mut child.0, "the first /invocation/next (init)").await? {
        Signal::Polled(at) => at,
        Signal::Answered(..) => unreachable!("an answer before the event was handed out"),
    };
    let (answered_at, outcome) = match waiter.next(&mut child.0, "the answer to the event").await? {
        Signal::Answered(at, outcome) => (at, outcome),
        Signal::Polled(_) => unreachable!("the event is handed out once"),
    };
    let peak_rss_kib = peak_rss_kib(child.0.id()).map_err(|reason| RunError::PeakRss {
        name: function.name.clone(),
        pid: child.0.id(),
        reason,
    })?;
    Ok(Sample {
        init: polled_at.duration_since(started),
        first_invocation: answered_at.duration_since(polled_at),
        peak_rss_kib,
        aws_calls: api.aws_calls.load(Ordering::SeqCst),
        outcome,
    })
}

/// Peak resident set size (`VmHWM`) of a live process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status"))
        .map_err(|e| e.to_string())?;
    parse_vm_hwm(&status).ok_or_else(|| "no VmHWM line in its status".to_owned())
}

/// The `VmHWM` figure (KiB) of a `/proc/<pid>/status` text.
pub fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix("VmHWM:"))?;
    line.trim().strip_suffix("kB")?.trim().parse().ok()
}

/// What the Runtime API tells the run.
enum Signal {
    /// The function asked for its first event (init is over).
    Polled(Instant),
    /// The function answered the event.
    Answered(Instant, Outcome),
}

/// The state of one run's Runtime API.
struct Api {
    event: Bytes,
    function_arn: String,
    handed_out: AtomicBool,
    aws_calls: AtomicU32,
    signals: mpsc::UnboundedSender<Result<Signal, String>>,
}

fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route(&format!("{RUNTIME_API}/invocation/next"), get(next_invocation))
        .route(&format!("{RUNTIME_API}/invocation/{{id}}/response"), post(invocation_response))
        .route(&format!("{RUNTIME_API}/invocation/{{id}}/error"), post(invocation_error))
        .route(&format!("{RUNTIME_API}/init/error"), post(init_error))
        .fallback(aws_call)
        .with_state(api)
}

async fn next_invocation(State(api): State<Arc<Api>>) -> Response {
    let at = Instant::now();
    if api.handed_out.swap(true, Ordering::SeqCst) {
        // The function is warm and waits for a second event: there is none, it gets killed.
        std::future::pending::<()>().await;
    }
    let _ = api.signals.send(Ok(Signal::Polled(at)));
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(30);
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", HeaderValue::from_static(REQUEST_ID));
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from(u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX)),
    );
    if let Ok(arn) = HeaderValue::from_str(&api.function_arn) {
        headers.insert("lambda-runtime-invoked-function-arn", arn);
    }
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static(
            "Root=1-695661c0-f19eb1ba072a2e894aefda56;Parent=0123456789abcdef;Sampled=0",
        ),
    );
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    (headers, api.event.clone()).into_response()
}

async fn invocation_response(State(api): State<Arc<Api>>, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let status = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|document| document.get("statusCode")?.as_u64())
        .and_then(|status| u16::try_from(status).ok());
    let body = String::from_utf8_lossy(&body).into_owned();
    let _ = api.signals.send(Ok(Signal::Answered(at, Outcome::Response { status, body })));
    StatusCode::ACCEPTED
}

async fn invocation_error(State(api): State<Arc<Api>>, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let error_type = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|document| document.get("errorType")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    let _ = api.signals.send(Ok(Signal::Answered(at, Outcome::Error { error_type })));
    StatusCode::ACCEPTED
}

async fn init_error(State(api): State<Arc<Api>>, body: Bytes) -> StatusCode {
    let _ = api.signals.send(Err(String::from_utf8_lossy(&body).into_owned()));
    StatusCode::ACCEPTED
}

/// Any other request is an AWS API call sent here by `AWS_ENDPOINT_URL`: a non-retryable
/// DynamoDB error, the one a missing table gives.
async fn aws_call(State(api): State<Arc<Api>>) -> Response {
    api.aws_calls.fetch_add(1, Ordering::SeqCst);
    let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#;
    (StatusCode::BAD_REQUEST, [(CONTENT_TYPE, "application/x-amz-json-1.0")], body).into_response()
}

/// Waits for the next signal of a run, watching for an early exit and the timeout.
struct Waiter<'a> {
    function: &'a Function,
    received: &'a mut mpsc::UnboundedReceiver<Result<Signal, String>>,
    timeout: Duration,
}

impl Waiter<'_> {
    async fn next(&mut self, child: &mut Child, stage: &'static str) -> Result<Signal, RunError> {
        let function = self.function;
        let name = || function.name.clone();
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut exit_poll = tokio::time::interval(EXIT_POLL);
        loop {
            tokio::select! {
                biased;
                signal = self.received.recv() => {
                    return match signal {
                        Some(Ok(signal)) => Ok(signal),
                        Some(Err(body)) => Err(RunError::InitError { name: name(), body }),
                        None => unreachable!("the Runtime API outlives the run"),
                    };
                }
                _ = exit_poll.tick() => {
                    let exited = child.try_wait().map_err(|source| RunError::Wait { name: name(), source })?;
                    if let Some(status) = exited {
                        // An init error posted just before the exit may still be on its way.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        if let Ok(Err(body)) = self.received.try_recv() {
                            return Err(RunError::InitError { name: name(), body });
                        }
                        return Err(RunError::Exited { name: name(), status, stage });
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(RunError::TimedOut { name: name(), timeout: self.timeout, stage });
                }
            }
        }
    }
}

/// Kills the function when the run ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Stops the run's Runtime API when the run ends.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_in_kib_from_proc_status() {
        let status =
            "Name:\tchat-send-message\nVmPeak:\t  301234 kB\nVmHWM:\t    9876 kB\nVmRSS:\t    9000 kB\n";

        assert_eq!(parse_vm_hwm(status), Some(9876));
    }

    #[test]
    fn status_without_vm_hwm_has_no_peak() {
        assert_eq!(parse_vm_hwm("Name:\tzombie\nState:\tZ (zombie)\n"), None);
    }

    #[test]
    fn function_is_named_after_its_binary() {
        let function = Function::new("target/release/chat-send-message", "{}");

        assert_eq!(function.name, "chat-send-message");
    }

    #[test]
    fn aws_calls_never_leave_loopback() {
        let address: SocketAddr = "127.0.0.1:4567".parse().unwrap();

        let environment = lambda_environment("chat-send-message", address);

        let endpoint = environment.iter().find(|(k, _)| k == "AWS_ENDPOINT_URL").map(|(_, v)| v.as_str());
        assert_eq!(endpoint, Some("http://127.0.0.1:4567"));
    }
}

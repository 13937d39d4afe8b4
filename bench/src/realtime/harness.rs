//! The gateway under test: the local gateway served in process on a random port of 127.0.0.1,
//! over a fresh SQLite file, as the black-box tests start it (`tests/lib.rs`), with its store
//! and its Management API client timed by a [`Probe`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchboard_local::ws::Connections;
use switchboard_local::Gateway;
use switchboard_shared::auth::{TokenMinter, TokenVerifier};
use switchboard_shared::domain::Role;
use switchboard_shared::repo::connections::SendLimit;
use switchboard_shared::store::sqlite::SqliteItemStore;
use switchboard_shared::App;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::probe::{PostVia, Probe, ProbedRealtime, ProbedStore};
use super::{BenchError, Result};

/// Secret the gateway signs and verifies tokens with.
const SECRET: &[u8] = b"bench-secret-bench-secret-bench-secret!";
/// Issuer the gateway checks.
const ISSUER: &str = "switchboard";
/// Audience the gateway checks.
const AUDIENCE: &str = "switchboard-api";
/// Lifetime of the tokens the benchmark mints.
const TOKEN_TTL_SECONDS: u64 = 6 * 3600;

/// How the gateway is set up.
#[derive(Debug, Clone, Copy)]
pub struct GatewayOptions {
    /// How the fan-out posts to connections.
    pub post_via: PostVia,
}

/// A running gateway, its probe, and what a client needs to call it.
pub struct BenchGateway {
    /// `http://127.0.0.1:<port>`
    pub root: String,
    /// `ws://127.0.0.1:<port>`
    pub ws_root: String,
    /// The gateway (its open connections can be counted).
    pub gateway: Gateway,
    /// The timed store calls and posts.
    pub probe: Arc<Probe>,
    minter: TokenMinter,
    rest: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    served: Option<JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl BenchGateway {
    /// Starts a gateway on `runtime` (its tasks, its SQLite calls and its posts run there).
    pub fn start(runtime: &Handle, options: GatewayOptions) -> Result<Self> {
        let dir = tempfile::TempDir::new()?;
        let sqlite = SqliteItemStore::open(&dir.path().join("switchboard.db"))
            .map_err(|e| BenchError::Setup(format!("opening the SQLite store: {e}")))?;
        let probe = Probe::new();
        let store = Arc::new(ProbedStore::new(Arc::new(sqlite), Arc::clone(&probe)));
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let root = format!("http://127.0.0.1:{port}");
        let connections = Arc::new(Connections::default());
        let realtime =
            ProbedRealtime::new(options.post_via, &root, Arc::clone(&connections), Arc::clone(&probe));
        let verifier = TokenVerifier::hs256(SECRET, ISSUER, AUDIENCE);
        // The scenarios send as fast as replies come, from one connection: far beyond a
        // customer's send limit, which would measure the refusals instead of the fan-out.
        let unlimited = SendLimit { burst: i64::from(u32::MAX), interval_ms: 1 };
        let app = App::new(store, Arc::new(realtime)).with_send_limit(unlimited);
        let gateway = Gateway::with_connections(app, verifier, connections)
            .map_err(|e| BenchError::Setup(format!("building the gateway: {e}")))?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let serving = gateway.clone();
        let served = runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let stopped = async move {
                let _ = stopped.await;
            };
            serving.serve(listener, stopped).await
        });
        Ok(Self {
            ws_root: format!("ws://127.0.0.1:{port}"),
            root,
            gateway,
            probe,
            minter: TokenMinter::hs256(SECRET, ISSUER, AUDIENCE),
            rest: reqwest::Client::new(),
            shutdown: Some(shutdown),
            served: Some(served),
            _dir: dir,
        })
    }

    /// A valid token for a user in a role.
    pub fn token(&self, user: &str, role: Role) -> Result<String> {
        self.minter
            .mint(user, role, Some(user), TOKEN_TTL_SECONDS)
            .map_err(|e| BenchError::Setup(format!("minting a token: {e}")))
    }

    async fn call(&self, user: &str, role: Role, path: &str, body: Value, status: u16) -> Result<Value> {
        self.send(reqwest::Method::POST, user, role, path, body, status).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        user: &str,
        role: Role,
        path: &str,
        body: Value,
        status: u16,
    ) -> Result<Value> {
        let response = self
            .rest
            .request(method.clone(), format!("{}/api/v1{path}", self.root))
            .bearer_auth(self.token(user, role)?)
            .json(&body)
            .send()
            .await?;
        let got = response.status().as_u16();
        let text = response.text().await?;
        if got != status {
            return Err(BenchError::Protocol(format!(
                "{method} {path} as {user}: HTTP {got} (wanted {status}): {text}"
            )));
        }
        serde_json::from_str(&text)
            .map_err(|e| BenchError::Protocol(format!("{method} {path}: not JSON ({e}): {text}")))
    }

    /// `customer` opens a session (REST); returns its id.
    pub async fn open_session(&self, customer: &str) -> Result<String> {
        let body = self
            .call(customer, Role::Customer, "/chat/sessions", json!({"subject": "benchmark"}), 201)
            .await?;
        body["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| BenchError::Protocol(format!("a created session without an id: {body}")))
    }

    /// `agent` takes the waiting session `session` (REST).
    pub async fn assign(&self, agent: &str, session: &str) -> Result<()> {
        // On duty as away (room for 50): they may take sessions, routing leaves the queue alone.
        let duty = json!({"status": "away", "capacity": 50});
        self.send(reqwest::Method::PUT, agent, Role::Agent, "/agent/status", duty, 200).await?;
        let path = format!("/admin/chat-dashboard/sessions/{session}/assign");
        self.call(agent, Role::Agent, &path, json!({}), 200).await.map(drop)
    }

    /// Waits until the gateway has no open socket (when `no_sockets`) and has made no store call
    /// or post for `quiet`: the `$disconnect`s and fan-outs a step set off are over.
    pub async fn settle(&self, no_sockets: bool, quiet: Duration, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let open = self.gateway.connections().count();
            if (!no_sockets || open == 0) && self.probe.idle_for() >= quiet {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(BenchError::Timeout(format!(
                    "the gateway did not settle within {timeout:?} ({open} sockets still open)"
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops serving and waits for the server task (at most `timeout`).
    pub async fn stop(mut self, timeout: Duration) -> Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(served) = self.served.take() {
            match tokio::time::timeout(timeout, served).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(error))) => return Err(BenchError::Io(error)),
                Ok(Err(error)) => return Err(BenchError::Setup(format!("the server task failed: {error}"))),
                Err(_) => return Err(BenchError::Timeout("the gateway did not stop".into())),
            }
        }
        Ok(())
    }
}

impl Drop for BenchGateway {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

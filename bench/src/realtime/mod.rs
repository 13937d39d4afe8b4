//! The real-time benchmark of the local gateway's WebSocket API: fan-out latency to many sockets,
//! sustained deliveries between many senders, connects and disconnects per second, and a
//! no-loss/no-duplicate/no-reorder check, all measured through the gateway served in process.
//!
//! `realtime-bench` (the binary, behind the `realtime` feature) drives it; `docs/BENCHMARKS.md`
//! ("Real time") has the figures and how to read them.
//!
//! - [`harness`] starts the gateway on a fresh SQLite store, with the store and the Management
//!   API client wrapped by [`probe`] so each store call and each post is timed.
//! - [`client`] is the WebSocket client side: one tokio task per socket.
//! - [`scenarios`] runs the four measurements; [`report`] prints them as Markdown.
//! - [`cpu`] reads the CPU time of the gateway's and the client's threads from `/proc`.

pub mod client;
pub mod cpu;
pub mod dist;
pub mod harness;
pub mod probe;
pub mod report;
pub mod scenarios;

/// Why a benchmark step failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A WebSocket could not be opened, written or read.
    #[error("WebSocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// A REST call failed on the network.
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    /// Local I/O (binding the listener, the temporary directory).
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The gateway could not be built or the store opened.
    #[error("gateway set-up: {0}")]
    Setup(String),
    /// The gateway answered something unexpected (a status, an error frame, a missing reply).
    #[error("unexpected answer: {0}")]
    Protocol(String),
    /// A delivery check failed: a frame was lost, duplicated or out of order.
    #[error("delivery check failed: {0}")]
    Delivery(String),
    /// Nothing arrived in time.
    #[error("timed out: {0}")]
    Timeout(String),
}

/// A benchmark step's result.
pub type Result<T> = std::result::Result<T, BenchError>;

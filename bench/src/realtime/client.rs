//! The client side: WebSocket connections to the gateway (`/ws?token=`), the frames the
//! benchmark reads, and opening, subscribing and closing many sockets with bounded concurrency.
//!
//! Every socket is driven by its own tokio task. Frames are read with a borrowed, partial
//! deserialisation (only the fields the benchmark checks), so the client spends as little of the
//! shared CPU as it can.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{BenchError, Result};

/// An open WebSocket to the gateway.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a socket waits for a frame the benchmark expects before it reports a loss.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(30);

/// The fields of a server frame the benchmark reads; the rest is skipped.
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    /// `message.created`, `receipt`, `subscribed`, `error`, …
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// The `ref` of the client frame this replies to.
    #[serde(rename = "ref", borrow, default)]
    pub reference: Option<Cow<'a, str>>,
    /// A message (`message.created`), or an error's text (`error`).
    #[serde(borrow, default)]
    pub message: Option<MessageField<'a>>,
    /// A receipt's status.
    #[serde(borrow, default)]
    pub status: Option<Cow<'a, str>>,
    /// In the reply to a `send_message`: the other users the message reached (the sending
    /// connection's `delivered` receipt).
    #[serde(borrow, default)]
    pub delivered_to: Option<Vec<Cow<'a, str>>>,
}

/// The `message` field: an object in message frames, a string in error frames.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum MessageField<'a> {
    /// A message.
    Message(#[serde(borrow)] MessageView<'a>),
    /// An error's text.
    Text(#[serde(borrow)] Cow<'a, str>),
}

/// The fields of a message the benchmark checks.
#[derive(Debug, Deserialize)]
pub struct MessageView<'a> {
    /// Who sent it.
    #[serde(borrow)]
    pub sender_id: Cow<'a, str>,
    /// Its text.
    #[serde(borrow, default)]
    pub body: Option<Cow<'a, str>>,
}

impl<'a> Frame<'a> {
    /// Parses a text frame.
    pub fn parse(text: &'a str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| BenchError::Protocol(format!("an unreadable frame ({e}): {text}")))
    }

    /// The message of a message frame.
    pub fn message(&self) -> Option<&MessageView<'a>> {
        match &self.message {
            Some(MessageField::Message(message)) => Some(message),
            _ => None,
        }
    }
}

/// Opens a socket with a token (`TCP_NODELAY` on the client's side).
pub async fn connect(ws_root: &str, token: &str) -> Result<Socket> {
    let url = format!("{ws_root}/ws?token={token}");
    let (socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
    Ok(socket)
}

/// Sends one text frame.
pub async fn send(socket: &mut Socket, text: String) -> Result<()> {
    socket.send(WsMessage::Text(text.into())).await?;
    Ok(())
}

/// The next text frame, skipping control frames; an error when the socket ends or nothing
/// comes within [`FRAME_TIMEOUT`].
pub async fn next_text(socket: &mut Socket) -> Result<String> {
    loop {
        match tokio::time::timeout(FRAME_TIMEOUT, socket.next()).await {
            Err(_) => return Err(BenchError::Timeout(format!("no frame within {FRAME_TIMEOUT:?}"))),
            Ok(Some(Ok(WsMessage::Text(text)))) => return Ok(text.as_str().to_owned()),
            Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_)))) => continue,
            Ok(Some(Ok(WsMessage::Binary(_)))) => {
                return Err(BenchError::Protocol("a binary frame from the gateway".into()))
            }
            Ok(Some(Ok(WsMessage::Close(close)))) => {
                return Err(BenchError::Protocol(format!("the gateway closed the socket: {close:?}")))
            }
            Ok(Some(Err(error))) => return Err(error.into()),
            Ok(None) => return Err(BenchError::Protocol("the socket ended".into())),
        }
    }
}

/// Sends `frame` (a JSON object without `ref`) with `ref` = `reference` and returns the reply
/// that carries it; other frames meanwhile are skipped. An `error` reply is an error.
pub async fn request(socket: &mut Socket, mut frame: serde_json::Value, reference: &str) -> Result<String> {
    frame["ref"] = json!(reference);
    send(socket, frame.to_string()).await?;
    loop {
        let text = next_text(socket).await?;
        let parsed = Frame::parse(&text)?;
        if parsed.reference.as_deref() == Some(reference) {
            if parsed.kind == "error" {
                return Err(BenchError::Protocol(format!("the gateway refused a frame: {text}")));
            }
            return Ok(text);
        }
    }
}

/// Closes a socket and waits for the gateway's side to end (its close frame or EOF).
pub async fn close(mut socket: Socket) -> Result<()> {
    match socket.close(None).await {
        Ok(()) => {}
        Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed)
        | Err(tokio_tungstenite::tungstenite::Error::AlreadyClosed) => return Ok(()),
        Err(error) => return Err(error.into()),
    }
    loop {
        match tokio::time::timeout(FRAME_TIMEOUT, socket.next()).await {
            Err(_) => return Err(BenchError::Timeout("the gateway did not close a socket".into())),
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(WsMessage::Close(_)))) => return Ok(()),
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// Runs `step` on items `0..count` with at most `concurrency` at a time (workers pulling the next
/// index); returns each item's output and how long its step took, in index order.
pub async fn bounded<T, F, Fut>(count: usize, concurrency: usize, step: F) -> Result<Vec<(T, Duration)>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T>> + Send,
{
    let step = Arc::new(step);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.clamp(1, count.max(1)) {
        let (step, next) = (Arc::clone(&step), Arc::clone(&next));
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= count {
                    return Ok::<_, BenchError>(done);
                }
                let started = Instant::now();
                let output = step(index).await?;
                done.push((index, output, started.elapsed()));
            }
        });
    }
    let mut slots: Vec<Option<(T, Duration)>> = (0..count).map(|_| None).collect();
    while let Some(joined) = workers.join_next().await {
        let done = joined.map_err(|e| BenchError::Protocol(format!("a client task failed: {e}")))??;
        for (index, output, took) in done {
            slots[index] = Some((output, took));
        }
    }
    slots
        .into_iter()
        .map(|slot| slot.ok_or_else(|| BenchError::Protocol("a step was not run".into())))
        .collect()
}

/// Runs `step` on each socket with at most `concurrency` at a time; returns each step's output
/// (the socket back, typically) and how long it took, in the sockets' order.
pub async fn each_socket<T, F, Fut>(
    sockets: Vec<Socket>,
    concurrency: usize,
    step: F,
) -> Result<Vec<(T, Duration)>>
where
    T: Send + 'static,
    F: Fn(usize, Socket) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T>> + Send,
{
    let count = sockets.len();
    let sockets: Arc<Vec<std::sync::Mutex<Option<Socket>>>> =
        Arc::new(sockets.into_iter().map(|s| std::sync::Mutex::new(Some(s))).collect());
    bounded(count, concurrency, move |index| {
        let socket = sockets[index].lock().ok().and_then(|mut slot| slot.take());
        let future = socket.map(|socket| step(index, socket));
        async move {
            match future {
                Some(future) => future.await,
                None => Err(BenchError::Protocol("a socket was taken twice".into())),
            }
        }
    })
    .await
}

/// Subscribes each socket to its session (`sessions[i]` for socket `i`; at most `concurrency` at
/// a time); returns the sockets.
pub async fn subscribe_all(
    sockets: Vec<Socket>,
    sessions: Vec<String>,
    concurrency: usize,
) -> Result<Vec<Socket>> {
    if sessions.len() != sockets.len() {
        return Err(BenchError::Setup(format!("{} sockets but {} sessions", sockets.len(), sessions.len())));
    }
    let done = each_socket(sockets, concurrency, move |index, mut socket| {
        let frame = json!({"action": "subscribe", "session_id": sessions[index]});
        async move {
            let reply = request(&mut socket, frame, &format!("sub{index}")).await?;
            if Frame::parse(&reply)?.kind != "subscribed" {
                return Err(BenchError::Protocol(format!("a subscribe was answered with {reply}")));
            }
            Ok(socket)
        }
    })
    .await?;
    Ok(done.into_iter().map(|(socket, _)| socket).collect())
}

/// Closes every socket (at most `concurrency` at a time); returns how long each close took.
pub async fn close_all(sockets: Vec<Socket>, concurrency: usize) -> Result<Vec<Duration>> {
    let done = each_socket(sockets, concurrency, |_, socket| close(socket)).await?;
    Ok(done.into_iter().map(|((), took)| took).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_frame_gives_its_sender_and_body() {
        let text = r#"{"type":"message.created","ref":"r1","message":{"id":"x","sender_id":"cust-1","body":"a:0:1:2"}}"#;
        let frame = Frame::parse(text).unwrap();

        assert_eq!(frame.kind, "message.created");
        assert_eq!(frame.reference.as_deref(), Some("r1"));
        let message = frame.message().unwrap();
        assert_eq!((message.sender_id.as_ref(), message.body.as_deref()), ("cust-1", Some("a:0:1:2")));
    }

    #[test]
    fn an_error_frame_has_a_text_message() {
        let text = r#"{"type":"error","code":"session_closed","message":"closed","ref":"r2"}"#;
        let frame = Frame::parse(text).unwrap();

        assert_eq!(frame.kind, "error");
        assert!(frame.message().is_none());
    }
}

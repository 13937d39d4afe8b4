//! The local gateway's WebSocket API: API Gateway's WebSocket behaviour on `/ws`, and its
//! Management API on `/@connections/{id}`.
//!
//! `$connect` runs the same authorizer as REST (token from `?token=`; a refusal is 401 before the
//! upgrade), then the `$connect` function (a refusal is its status, before the upgrade). Each
//! text message is routed by its `action` to the template's route of that key, else to
//! `$default`; a two-way route's reply is sent back on the socket. Frames over 32 KB and messages
//! over 128 KB close the socket with 1009, idle sockets close after 10 minutes and every socket
//! after 2 hours, as in API Gateway. When a socket ends, `$disconnect` runs.
//!
//! `/@connections/{id}` answers like the real Management API (POST 200, GET 200 with the
//! connection's times, DELETE 204, 410 `GoneException` for unknown ids, 413 over 128 KB, 403
//! without a SigV4 `Authorization` header), so the production SDK client posts to it unchanged.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures::{SinkExt, StreamExt};
use lambda_http::Body as LambdaBody;
use serde_json::{json, Map, Value};
use switchboard_shared::domain::ConnectionId;
use switchboard_shared::lambda::{dispatch_ws, WsFunction};
use switchboard_shared::realtime::frames::{MAX_FRAME_BYTES, MAX_MESSAGE_BYTES};
use switchboard_shared::realtime::{PostError, Realtime};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::gateway::{gateway_error, header_map, Gateway};

/// API Gateway closes a connection that has been idle this long.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// API Gateway closes every connection after this long.
pub const MAX_CONNECTION_DURATION: Duration = Duration::from_secs(2 * 60 * 60);
/// Frames queued for one connection before posts to it are throttled (429).
const OUTBOUND_QUEUE: usize = 4096;

/// A WebSocket route of the template, bound to its function.
#[derive(Clone, Copy)]
pub struct WsBound {
    /// The function.
    pub function: WsFunction,
    /// Whether its reply goes back on the socket (a route response is declared).
    pub two_way: bool,
}

/// What the socket's writer sends next.
enum Outbound {
    Text(String),
    Close(u16, &'static str),
}

/// A live connection, as the Management API sees it.
struct Live {
    outbound: mpsc::Sender<Outbound>,
    connected_at: OffsetDateTime,
    last_active: OffsetDateTime,
    source_ip: String,
    user_agent: String,
}

/// The gateway's live connections by id.
#[derive(Default)]
pub struct Connections {
    live: Mutex<HashMap<String, Live>>,
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        // A panic while holding the lock cannot leave the map half-changed: every change is one
        // insert or remove. So a poisoned lock is still usable.
        self.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many sockets are open.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Queues one text message for a connection, as `POST /@connections/{id}` does.
    pub fn deliver(&self, id: &str, frame: &[u8]) -> Result<(), Undelivered> {
        if frame.len() > MAX_MESSAGE_BYTES {
            return Err(Undelivered::TooLarge);
        }
        let sender = self.lock().get(id).map(|live| live.outbound.clone()).ok_or(Undelivered::Gone)?;
        match sender.try_send(Outbound::Text(String::from_utf8_lossy(frame).into_owned())) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Undelivered::Gone),
            Err(mpsc::error::TrySendError::Full(_)) => Err(Undelivered::Backlogged),
        }
    }

    fn touch(&self, id: &str) {
        if let Some(live) = self.lock().get_mut(id) {
            live.last_active = OffsetDateTime::now_utc();
        }
    }
}

/// A new connection id shaped like API Gateway's (16 base64 characters ending in `=`).
fn new_connection_id() -> ConnectionId {
    let bytes: [u8; 11] = rand::random();
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    // Eleven random bytes always encode to 16 valid characters.
    ConnectionId::parse(&text).unwrap_or_else(|_| new_connection_id())
}

fn query_parameters(uri: &Uri) -> Map<String, Value> {
    uri.query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes()).into_owned().map(|(k, v)| (k, Value::String(v))).collect()
        })
        .unwrap_or_default()
}

/// The API Gateway WebSocket event for a route, as Lambda would receive it.
#[allow(clippy::too_many_arguments)]
fn websocket_event(
    route_key: &str,
    event_type: &str,
    connection: &ConnectionId,
    connected_at: OffsetDateTime,
    peer: &str,
    headers: Option<&Map<String, Value>>,
    query: Option<&Map<String, Value>>,
    authorizer: &Value,
    body: Option<&[u8]>,
) -> Value {
    let now = OffsetDateTime::now_utc();
    let (body, is_base64) = match body.map(std::str::from_utf8) {
        None => (Value::Null, false),
        Some(Ok(text)) => (Value::String(text.to_owned()), false),
        Some(Err(_)) => {
            (Value::String(base64::engine::general_purpose::STANDARD.encode(body.unwrap_or_default())), true)
        }
    };
    let mut event = json!({
        "requestContext": {
            "routeKey": route_key,
            "eventType": event_type,
            "messageDirection": "IN",
            "stage": "local",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "connectionId": connection.as_str(),
            "connectedAt": connected_at.unix_timestamp() * 1000,
            "requestId": ulid::Ulid::new().to_string(),
            "requestTimeEpoch": (now.unix_timestamp_nanos() / 1_000_000) as i64,
            "identity": {"sourceIp": peer},
            "authorizer": authorizer,
        },
        "isBase64Encoded": is_base64,
    });
    if let Some(fields) = event.as_object_mut() {
        if !body.is_null() {
            fields.insert("body".into(), body);
        }
        if let Some(headers) = headers {
            fields.insert("headers".into(), Value::Object(headers.clone()));
        }
        if let Some(query) = query.filter(|q| !q.is_empty()) {
            fields.insert("queryStringParameters".into(), Value::Object(query.clone()));
        }
    }
    event
}

async fn invoke(gateway: &Gateway, function: &WsFunction, event: Value) -> lambda_http::Response<LambdaBody> {
    match lambda_http::request::from_str(&event.to_string()) {
        Ok(request) => {
            let started = std::time::Instant::now();
            let response = dispatch_ws(gateway.app_for(function.name), function, request).await;
            gateway.invoked(function.name, started);
            response
        }
        Err(error) => {
            tracing::error!(%error, "building the WebSocket Lambda request failed");
            let mut response = lambda_http::Response::new(LambdaBody::Text(
                json!({"type": "error", "code": "internal", "message": "the gateway failed"}).to_string(),
            ));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    }
}

fn body_text(body: &LambdaBody) -> Option<String> {
    match body {
        LambdaBody::Text(text) if !text.is_empty() => Some(text.clone()),
        LambdaBody::Binary(bytes) if !bytes.is_empty() => Some(String::from_utf8_lossy(bytes).into_owned()),
        _ => None,
    }
}

/// `GET /ws?token=…`: authorize, run `$connect`, upgrade.
pub async fn upgrade(
    State(gateway): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(connect) = gateway.ws_route("$connect") else {
        return gateway_error(StatusCode::NOT_FOUND, "route_not_found", "the template has no $connect route");
    };
    let query = query_parameters(&uri);
    let headers = header_map(&headers);
    let authorizer_event = json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:local:000000000000:local/local/$connect",
        "headers": headers,
        "queryStringParameters": query,
        "requestContext": {"routeKey": "$connect", "eventType": "CONNECT"},
    });
    let context = match switchboard_authorizer::authorize(gateway.verifier(), &authorizer_event) {
        Ok(answer) => answer.context,
        Err(refusal) => {
            tracing::info!(reason = %refusal, "WebSocket token refused");
            return gateway_error(StatusCode::UNAUTHORIZED, "unauthorized", "a valid token is required");
        }
    };
    let authorizer = json!({
        "principalId": context.user_id,
        "userId": context.user_id,
        "role": context.role,
        "name": context.name,
    });
    let id = new_connection_id();
    let connected_at = OffsetDateTime::now_utc();
    let peer_ip = peer.ip().to_string();
    let event = websocket_event(
        "$connect",
        "CONNECT",
        &id,
        connected_at,
        &peer_ip,
        Some(&headers),
        Some(&query),
        &authorizer,
        None,
    );
    let answer = invoke(&gateway, &connect.function, event).await;
    if !answer.status().is_success() {
        let (parts, body) = answer.into_parts();
        return (parts.status, [("content-type", "application/json")], body_text(&body).unwrap_or_default())
            .into_response();
    }
    let (outbound, queue) = mpsc::channel(OUTBOUND_QUEUE);
    let user_agent = headers.get("user-agent").and_then(Value::as_str).unwrap_or_default().to_owned();
    gateway.connections().lock().insert(
        id.to_string(),
        Live { outbound, connected_at, last_active: connected_at, source_ip: peer_ip.clone(), user_agent },
    );
    let session =
        Socket { gateway: gateway.clone(), id: id.clone(), connected_at, peer: peer_ip, authorizer };
    let failed = session.clone();
    ws.max_frame_size(MAX_FRAME_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_failed_upgrade(move |error| {
            tracing::info!(%error, "WebSocket upgrade failed");
            tokio::spawn(async move { failed.disconnected().await });
        })
        .on_upgrade(move |socket| session.run(socket, queue))
}

/// One open socket.
#[derive(Clone)]
struct Socket {
    gateway: Gateway,
    id: ConnectionId,
    connected_at: OffsetDateTime,
    peer: String,
    authorizer: Value,
}

impl Socket {
    async fn run(self, socket: WebSocket, mut queue: mpsc::Receiver<Outbound>) {
        let (mut sink, mut stream) = socket.split();
        let writer = tokio::spawn(async move {
            while let Some(next) = queue.recv().await {
                let (message, last) = match next {
                    Outbound::Text(text) => (Message::Text(text.into()), false),
                    Outbound::Close(code, reason) => {
                        (Message::Close(Some(CloseFrame { code, reason: reason.into() })), true)
                    }
                };
                if sink.send(message).await.is_err() || last {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let deadline = tokio::time::Instant::now() + MAX_CONNECTION_DURATION;
        loop {
            let next = tokio::select! {
                next = tokio::time::timeout(IDLE_TIMEOUT, stream.next()) => next,
                _ = tokio::time::sleep_until(deadline) => {
                    self.close(1001, "Going away").await;
                    break;
                }
            };
            match next {
                Err(_) => {
                    self.close(1001, "Going away").await;
                    break;
                }
                Ok(None) | Ok(Some(Ok(Message::Close(_)))) => break,
                Ok(Some(Ok(Message::Text(text)))) => self.frame(text.as_bytes()).await,
                Ok(Some(Ok(Message::Binary(bytes)))) => self.frame(&bytes).await,
                Ok(Some(Ok(Message::Ping(_)))) | Ok(Some(Ok(Message::Pong(_)))) => {}
                Ok(Some(Err(error))) => {
                    // Tungstenite refuses oversized frames and messages while reading them, with
                    // its capacity error ("Space limit exceeded: ...").
                    if error.to_string().contains("Space limit exceeded") {
                        self.close(1009, "Message too big").await;
                    }
                    tracing::info!(%error, connection = %self.id, "WebSocket read ended");
                    break;
                }
            }
        }
        self.disconnected().await;
        let _ = writer.await;
    }

    /// Queues a close frame (the writer sends it and stops).
    async fn close(&self, code: u16, reason: &'static str) {
        let sender = self.gateway.connections().lock().get(self.id.as_str()).map(|l| l.outbound.clone());
        if let Some(sender) = sender {
            let _ = sender.send(Outbound::Close(code, reason)).await;
        }
    }

    /// Routes one message by its `action` and sends a two-way route's reply back.
    async fn frame(&self, body: &[u8]) {
        self.gateway.connections().touch(self.id.as_str());
        // Only a route key that is not API Gateway's own (`$connect`, `$disconnect`, `$default`)
        // can be selected by a frame; anything else goes to `$default`.
        let action = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("action").and_then(Value::as_str).map(str::to_owned))
            .filter(|action| !action.starts_with('$'));
        let route = action
            .as_deref()
            .and_then(|a| self.gateway.ws_route(a))
            .or_else(|| self.gateway.ws_route("$default"));
        let Some(route) = route else {
            return;
        };
        let route_key = match action.as_deref() {
            Some(action) if self.gateway.ws_route(action).is_some() => action.to_owned(),
            _ => "$default".to_owned(),
        };
        let event = websocket_event(
            &route_key,
            "MESSAGE",
            &self.id,
            self.connected_at,
            &self.peer,
            None,
            None,
            &self.authorizer,
            Some(body),
        );
        let answer = invoke(&self.gateway, &route.function, event).await;
        if !route.two_way {
            return;
        }
        if let Some(reply) = body_text(answer.body()) {
            let sender = self.gateway.connections().lock().get(self.id.as_str()).map(|l| l.outbound.clone());
            if let Some(sender) = sender {
                let _ = sender.send(Outbound::Text(reply)).await;
            }
        }
    }

    /// Forgets the socket and runs `$disconnect`.
    async fn disconnected(&self) {
        self.gateway.connections().lock().remove(self.id.as_str());
        if let Some(route) = self.gateway.ws_route("$disconnect") {
            let event = websocket_event(
                "$disconnect",
                "DISCONNECT",
                &self.id,
                self.connected_at,
                &self.peer,
                None,
                None,
                &self.authorizer,
                None,
            );
            invoke(&self.gateway, &route.function, event).await;
        }
    }
}

/// An error of the Management API, shaped as the service sends it (restJson1).
fn management_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json"), ("x-amzn-errortype", kind)],
        json!({"message": message}).to_string(),
    )
        .into_response()
}

/// The Management API's guard: a request without a SigV4 `Authorization` header is 403
/// `ForbiddenException`, as in AWS (the signature itself is not checked locally).
pub async fn require_sigv4(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let signed = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    if !signed {
        return management_error(StatusCode::FORBIDDEN, "ForbiddenException", "Missing Authentication Token");
    }
    next.run(request).await
}

fn rfc3339_seconds(at: OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn gone() -> Response {
    management_error(StatusCode::GONE, "GoneException", "the connection is gone")
}

/// `POST /@connections/{id}`: sends the body to the connection as one text message.
pub async fn post_to_connection(
    State(gateway): State<Gateway>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match gateway.connections().deliver(&id, &body) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(Undelivered::Gone) => gone(),
        Err(Undelivered::TooLarge) => management_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLargeException",
            "the message is larger than 128 KB",
        ),
        Err(Undelivered::Backlogged) => management_error(
            StatusCode::TOO_MANY_REQUESTS,
            "LimitExceededException",
            "the connection is not reading its messages",
        ),
    }
}

/// Why a frame was not queued for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undelivered {
    /// No such connection (410).
    Gone,
    /// Over 128 KB (413).
    TooLarge,
    /// The connection's queue is full: it is not reading (429).
    Backlogged,
}

/// The local gateway's own `Realtime`: hands a frame to the connection's socket in process, with
/// exactly the outcomes of its Management API (`Gone` for unknown connections), without the HTTP
/// round trip and the SDK's signing. `switchboard-local serve` uses it unless told to post
/// through `/@connections` with the production client (`--realtime management-api`).
pub struct LocalRealtime {
    connections: Arc<Connections>,
}

impl LocalRealtime {
    /// Delivers to these connections (the gateway's: build it with
    /// [`Gateway::with_connections`]).
    pub fn new(connections: Arc<Connections>) -> Self {
        Self { connections }
    }
}

#[async_trait::async_trait]
impl Realtime for LocalRealtime {
    async fn post(&self, connection: &ConnectionId, frame: &[u8]) -> Result<(), PostError> {
        match self.connections.deliver(connection.as_str(), frame) {
            Ok(()) => Ok(()),
            Err(Undelivered::Gone) => Err(PostError::Gone),
            Err(refused) => Err(PostError::Failed(format!("{refused:?}"))),
        }
    }
}

/// `GET /@connections/{id}`: when the connection opened and was last active, and who it is.
pub async fn get_connection(State(gateway): State<Gateway>, Path(id): Path<String>) -> Response {
    let described = gateway.connections().lock().get(&id).map(|live| {
        json!({
            "connectedAt": rfc3339_seconds(live.connected_at),
            "lastActiveAt": rfc3339_seconds(live.last_active),
            "identity": {"sourceIp": live.source_ip, "userAgent": live.user_agent},
        })
    });
    match described {
        Some(body) => ([("content-type", "application/json")], body.to_string()).into_response(),
        None => gone(),
    }
}

/// `DELETE /@connections/{id}`: closes the connection (`$disconnect` follows).
pub async fn delete_connection(State(gateway): State<Gateway>, Path(id): Path<String>) -> Response {
    // Gone for the Management API at once, like the real service; `$disconnect` follows when the
    // socket has closed.
    let sender = gateway.connections().lock().remove(&id).map(|live| live.outbound);
    match sender {
        Some(sender) if sender.send(Outbound::Close(1000, "Connection deleted")).await.is_ok() => {
            StatusCode::NO_CONTENT.into_response()
        }
        _ => gone(),
    }
}

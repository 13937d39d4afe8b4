//! `docs/websocket.md` and the WebSocket event fixtures agree with the code.
//!
//! - Every ```` ```json client ```` block of the document is a frame the server accepts: without
//!   its optional `ref` (which the dispatcher takes off before the typed parsing), it parses as a
//!   [`ClientFrame`].
//! - Every ```` ```json server ```` block is a frame exactly as the server sends it: it parses as
//!   a [`ServerFrame`] and serialises back to the same JSON, but for a `ref` (which the
//!   dispatcher adds to replies, and only to replies).
//! - Every client action and every server type has an example, and so does every code of the
//!   document's error table.
//! - What the document says about the envelope (`ref` echoed in replies and errors, not in
//!   frames refused before they could be read) is what `dispatch_ws` does.
//! - The limits it states are the code's.
//! - Every `events/realtime-*.json` fixture is an API Gateway WebSocket event for its function's
//!   route, with the authorizer context the handlers read the caller from.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use serde_json::Value;
use switchboard_shared::domain::{now, ConnectionId, MessageBody, Role};
use switchboard_shared::lambda::{dispatch_ws, WsRequest, WsResult};
use switchboard_shared::ops::presence::PRESENCE_SESSIONS;
use switchboard_shared::realtime::frames::{
    ClientFrame, Ping, ServerFrame, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES, MAX_REF_CHARS,
};
use switchboard_shared::realtime::{PostError, Realtime};
use switchboard_shared::repo::connections::{
    CONNECTION_TTL_SECONDS, MAX_SUBSCRIPTIONS, SEND_BURST, SEND_INTERVAL_MS, TYPING_INTERVAL_MS,
};
use switchboard_shared::store::sqlite::SqliteItemStore;
use switchboard_shared::{ws_function, ApiError, App};

/// Every `action` of [`ClientFrame`]; each needs an example in the document.
const CLIENT_ACTIONS: &[&str] =
    &["subscribe", "subscribe_dashboard", "send_message", "typing", "mark_read", "ping"];

/// Every `type` of [`ServerFrame`]; each needs an example in the document.
const SERVER_TYPES: &[&str] = &[
    "message.created",
    "message.updated",
    "message.deleted",
    "typing",
    "receipt",
    "session.updated",
    "queue.updated",
    "presence",
    "dashboard.metrics",
    "subscribed",
    "error",
    "ack",
    "pong",
    "attachment.updated",
];

/// The server frames that can be replies, the only ones that may carry a `ref`.
const REPLY_TYPES: &[&str] = &["subscribed", "dashboard.metrics", "message.created", "pong", "ack", "error"];

/// The action of a client frame. No wildcard: a new variant stops this test from compiling until
/// it is added here and to [`CLIENT_ACTIONS`] (which then asks the document for an example).
fn action_of(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Subscribe(_) => "subscribe",
        ClientFrame::SendMessage(_) => "send_message",
        ClientFrame::Typing(_) => "typing",
        ClientFrame::MarkRead(_) => "mark_read",
        ClientFrame::Ping(_) => "ping",
        ClientFrame::SubscribeDashboard(_) => "subscribe_dashboard",
    }
}

/// The type of a server frame. No wildcard, for the same reason as [`action_of`]: add a new
/// variant here and to [`SERVER_TYPES`].
fn type_of(frame: &ServerFrame) -> &'static str {
    match frame {
        ServerFrame::MessageCreated { .. } => "message.created",
        ServerFrame::MessageUpdated { .. } => "message.updated",
        ServerFrame::MessageDeleted { .. } => "message.deleted",
        ServerFrame::Typing { .. } => "typing",
        ServerFrame::Receipt { .. } => "receipt",
        ServerFrame::SessionUpdated { .. } => "session.updated",
        ServerFrame::QueueUpdated { .. } => "queue.updated",
        ServerFrame::Presence { .. } => "presence",
        ServerFrame::DashboardMetrics { .. } => "dashboard.metrics",
        ServerFrame::Subscribed { .. } => "subscribed",
        ServerFrame::Error { .. } => "error",
        ServerFrame::Ack {} => "ack",
        ServerFrame::Pong { .. } => "pong",
        ServerFrame::AttachmentUpdated { .. } => "attachment.updated",
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn assert_no_problems(problems: &[String], what: &str) {
    assert!(problems.is_empty(), "{what}:\n  - {}", problems.join("\n  - "));
}

// ---------------------------------------------------------------------------------------------
// The document's examples
// ---------------------------------------------------------------------------------------------

const DOC: &str = "docs/websocket.md";

fn doc() -> String {
    read(&workspace_root().join("docs").join("websocket.md"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// One ```` ```json client ```` or ```` ```json server ```` block.
struct Example {
    /// Line of the opening fence (1-based).
    line: usize,
    side: Side,
    text: String,
}

impl Example {
    fn label(&self) -> String {
        let side = match self.side {
            Side::Client => "json client",
            Side::Server => "json server",
        };
        format!("{DOC}:{} (```{side} block)", self.line)
    }

    /// The block as one JSON object.
    fn object(&self) -> Result<serde_json::Map<String, Value>, String> {
        match serde_json::from_str::<Value>(&self.text) {
            Ok(Value::Object(fields)) => Ok(fields),
            Ok(other) => Err(format!("{}: holds {other}, not one JSON object", self.label())),
            Err(error) => Err(format!("{}: is not exactly one JSON value: {error}", self.label())),
        }
    }
}

/// The example blocks of the document; a fenced block whose info string mentions `client` or
/// `server` but is not exactly `json client` / `json server` is a mistake and fails.
fn examples(doc: &str) -> Vec<Example> {
    let mut found = Vec::new();
    let mut open: Option<(usize, String, String, Vec<&str>)> = None;
    for (index, line) in doc.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if trimmed.starts_with("```") {
                    let fence: String = trimmed.chars().take_while(|c| *c == '`').collect();
                    let info = trimmed[fence.len()..].trim().to_owned();
                    open = Some((index + 1, fence, info, Vec::new()));
                }
            }
            Some((start, fence, info, body)) => {
                if trimmed.starts_with(fence.as_str()) && trimmed.trim_start_matches('`').trim().is_empty() {
                    let side = match info.as_str() {
                        "json client" => Some(Side::Client),
                        "json server" => Some(Side::Server),
                        other => {
                            let words: Vec<&str> = other.split(|c: char| !c.is_alphanumeric()).collect();
                            assert!(
                                !words.contains(&"client") && !words.contains(&"server"),
                                "{DOC}:{start}: info string {other:?}; write exactly `json client` or `json server`"
                            );
                            None
                        }
                    };
                    if let Some(side) = side {
                        found.push(Example { line: *start, side, text: body.join("\n") });
                    }
                    open = None;
                } else {
                    body.push(line);
                }
            }
        }
    }
    if let Some((start, ..)) = open {
        panic!("{DOC}:{start}: a fenced block is never closed");
    }
    found
}

fn client_examples() -> Vec<Example> {
    examples(&doc()).into_iter().filter(|e| e.side == Side::Client).collect()
}

fn server_examples() -> Vec<Example> {
    examples(&doc()).into_iter().filter(|e| e.side == Side::Server).collect()
}

/// Takes `ref` off a frame and checks it is what the dispatcher accepts.
fn take_ref(label: &str, fields: &mut serde_json::Map<String, Value>) -> Result<Option<String>, String> {
    match fields.remove("ref") {
        None => Ok(None),
        Some(Value::String(r)) if !r.is_empty() && r.chars().count() <= MAX_REF_CHARS => Ok(Some(r)),
        Some(other) => {
            Err(format!("{label}: ref {other} is not a string of 1 to {MAX_REF_CHARS} characters"))
        }
    }
}

/// A client example as the server reads it; its action.
fn check_client_example(example: &Example) -> Result<&'static str, String> {
    let label = example.label();
    let mut fields = example.object()?;
    if example.text.len() > MAX_FRAME_BYTES {
        return Err(format!(
            "{label}: {} bytes is over the {MAX_FRAME_BYTES}-byte frame limit",
            example.text.len()
        ));
    }
    take_ref(&label, &mut fields)?;
    let action = fields.get("action").and_then(Value::as_str).map(str::to_owned);
    let frame: ClientFrame = serde_json::from_value(Value::Object(fields))
        .map_err(|error| format!("{label}: is not a ClientFrame: {error}"))?;
    let parsed = action_of(&frame);
    if action.as_deref() != Some(parsed) {
        return Err(format!("{label}: action {action:?} parsed as {parsed}"));
    }
    if !CLIENT_ACTIONS.contains(&parsed) {
        return Err(format!("{label}: action {parsed} is missing from CLIENT_ACTIONS"));
    }
    Ok(parsed)
}

/// A server example as the server sends it; its type and, for errors, its code.
fn check_server_example(example: &Example) -> Result<(&'static str, Option<String>), String> {
    let label = example.label();
    let mut fields = example.object()?;
    let reference = take_ref(&label, &mut fields)?;
    let written = Value::Object(fields);
    let frame: ServerFrame = serde_json::from_value(written.clone())
        .map_err(|error| format!("{label}: is not a ServerFrame: {error}"))?;
    let kind = type_of(&frame);
    if !SERVER_TYPES.contains(&kind) {
        return Err(format!("{label}: type {kind} is missing from SERVER_TYPES"));
    }
    if written.get("type").and_then(Value::as_str) != Some(kind) {
        return Err(format!("{label}: \"type\" is not {kind:?}"));
    }
    if reference.is_some() && !REPLY_TYPES.contains(&kind) {
        return Err(format!("{label}: a {kind} frame is never a reply, so it never carries a ref"));
    }
    let sent = frame.to_json();
    if sent != written {
        return Err(format!(
            "{label}: the server would send this frame as\n      {sent}\n    not as written\n      {written}"
        ));
    }
    let code = match &frame {
        ServerFrame::Error { code, .. } => Some(code.clone()),
        _ => None,
    };
    Ok((kind, code))
}

#[test]
fn the_document_has_examples_of_both_sides() {
    let all = examples(&doc());
    assert!(all.iter().any(|e| e.side == Side::Client), "{DOC} has no ```json client block");
    assert!(all.iter().any(|e| e.side == Side::Server), "{DOC} has no ```json server block");
}

#[test]
fn every_client_example_is_a_frame_the_server_accepts() {
    let problems: Vec<String> =
        client_examples().iter().filter_map(|e| check_client_example(e).err()).collect();
    assert_no_problems(&problems, "client examples the server would refuse");
}

#[test]
fn every_server_example_is_a_frame_exactly_as_the_server_sends_it() {
    let problems: Vec<String> =
        server_examples().iter().filter_map(|e| check_server_example(e).err()).collect();
    assert_no_problems(&problems, "server examples that differ from what the server sends");
}

#[test]
fn every_client_action_and_every_server_type_has_an_example() {
    let actions: BTreeSet<&str> =
        client_examples().iter().filter_map(|e| check_client_example(e).ok()).collect();
    let types: BTreeSet<&str> =
        server_examples().iter().filter_map(|e| check_server_example(e).ok()).map(|(kind, _)| kind).collect();
    let mut problems: Vec<String> = CLIENT_ACTIONS
        .iter()
        .filter(|action| !actions.contains(*action))
        .map(|action| format!("no valid ```json client example with \"action\": {action:?}"))
        .collect();
    problems.extend(
        SERVER_TYPES
            .iter()
            .filter(|kind| !types.contains(*kind))
            .map(|kind| format!("no valid ```json server example with \"type\": {kind:?}")),
    );
    assert_no_problems(&problems, &format!("frames without an example in {DOC}"));
}

/// The codes of the document's error table: the first cell of each row of the `## Error codes`
/// section, in backticks.
fn documented_error_codes(doc: &str) -> BTreeMap<String, usize> {
    let mut codes = BTreeMap::new();
    let mut inside = false;
    for (index, line) in doc.lines().enumerate() {
        if line.starts_with("## ") {
            inside = line.trim() == "## Error codes";
            continue;
        }
        if !inside {
            continue;
        }
        if let Some(cell) = line.strip_prefix("| `") {
            if let Some(code) = cell.split('`').next() {
                codes.insert(code.to_owned(), index + 1);
            }
        }
    }
    codes
}

#[test]
fn every_documented_error_code_has_an_example_and_every_example_code_is_documented() {
    let codes = documented_error_codes(&doc());
    assert!(codes.len() >= 10, "{DOC}: the `## Error codes` table lists only {codes:?}");
    let mut examples: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for example in server_examples() {
        if let Ok((_, Some(code))) = check_server_example(&example) {
            examples.entry(code).or_default().push(example.label());
        }
    }
    let mut problems: Vec<String> = codes
        .iter()
        .filter(|(code, _)| !examples.contains_key(*code))
        .map(|(code, line)| format!("{DOC}:{line}: error code {code} has no ```json server example"))
        .collect();
    for (code, labels) in &examples {
        if !codes.contains_key(code) {
            problems.push(format!("{}: error code {code} is not in the error table", labels.join(", ")));
        }
    }
    assert_no_problems(&problems, "error codes");
}

/// The numbers the document states, pinned: change one and the document must change too.
#[test]
fn the_limits_the_document_states_are_the_codes() {
    let doc = doc();
    let pinned: &[(&str, i64, i64)] = &[
        ("frame: 32 KB", MAX_FRAME_BYTES as i64, 32 * 1024),
        ("message: 128 KB", MAX_MESSAGE_BYTES as i64, 128 * 1024),
        ("ref: 1 to 64 characters", MAX_REF_CHARS as i64, 64),
        ("body: 4,000 characters", MessageBody::MAX_CHARS as i64, 4000),
        ("100 subscriptions per connection", MAX_SUBSCRIPTIONS, 100),
        ("one typing start and one stop per 2 s", TYPING_INTERVAL_MS, 2000),
        ("bursts of 20 send_message frames", SEND_BURST, 20),
        ("then one send_message frame a second", SEND_INTERVAL_MS, 1000),
        ("presence to the 50 newest open sessions", PRESENCE_SESSIONS as i64, 50),
        ("connections forgotten 2 h 10 min after they opened", CONNECTION_TTL_SECONDS, 2 * 3600 + 600),
    ];
    let problems: Vec<String> = pinned
        .iter()
        .filter(|(_, code, stated)| code != stated)
        .map(|(what, code, stated)| format!("{DOC} says {what} ({stated}), the code has {code}"))
        .collect();
    assert_no_problems(&problems, "limits");
    for phrase in [
        "32 KB",
        "128 KB",
        "1 to 64 characters",
        "4,000 characters",
        "100",
        "2 seconds",
        "2 h 10 min",
        "bursts of 20",
        "10 every 10 seconds",
    ] {
        assert!(doc.contains(phrase), "{DOC} no longer says {phrase:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The event fixtures
// ---------------------------------------------------------------------------------------------

/// A WebSocket function's fixture: binary, route key, event type, caller.
struct Expected {
    binary: &'static str,
    route_key: &'static str,
    event_type: &'static str,
    user_id: &'static str,
    role: Role,
}

const FIXTURES: &[Expected] = &[
    Expected {
        binary: "realtime-connect",
        route_key: "$connect",
        event_type: "CONNECT",
        user_id: "cust-ada",
        role: Role::Customer,
    },
    Expected {
        binary: "realtime-disconnect",
        route_key: "$disconnect",
        event_type: "DISCONNECT",
        user_id: "cust-ada",
        role: Role::Customer,
    },
    Expected {
        binary: "realtime-default",
        route_key: "$default",
        event_type: "MESSAGE",
        user_id: "cust-ada",
        role: Role::Customer,
    },
    Expected {
        binary: "realtime-subscribe",
        route_key: "subscribe",
        event_type: "MESSAGE",
        user_id: "cust-ada",
        role: Role::Customer,
    },
    Expected {
        binary: "realtime-send-message",
        route_key: "send_message",
        event_type: "MESSAGE",
        user_id: "cust-ada",
        role: Role::Customer,
    },
    Expected {
        binary: "realtime-typing",
        route_key: "typing",
        event_type: "MESSAGE",
        user_id: "cust-ada",
        role: Role::Customer,
    },
    Expected {
        binary: "realtime-mark-read",
        route_key: "mark_read",
        event_type: "MESSAGE",
        user_id: "agent-bob",
        role: Role::Agent,
    },
    Expected {
        binary: "realtime-ping",
        route_key: "ping",
        event_type: "MESSAGE",
        user_id: "cust-ada",
        role: Role::Customer,
    },
    Expected {
        binary: "realtime-subscribe-dashboard",
        route_key: "subscribe_dashboard",
        event_type: "MESSAGE",
        user_id: "agent-bob",
        role: Role::Agent,
    },
];

fn fixture_path(binary: &str) -> PathBuf {
    workspace_root().join("events").join(format!("{binary}.json"))
}

/// The claims of a JWT, unverified.
fn claims(token: &str) -> Result<Value, String> {
    let payload = token.split('.').nth(1).ok_or("not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|error| format!("claims are not base64url: {error}"))?;
    serde_json::from_slice(&bytes).map_err(|error| format!("claims are not JSON: {error}"))
}

fn check_fixture(expected: &Expected) -> Result<(), String> {
    let file = format!("events/{}.json", expected.binary);
    let text = read(&fixture_path(expected.binary));
    let raw: Value = serde_json::from_str(&text).map_err(|error| format!("{file}: not JSON: {error}"))?;
    let request = lambda_http::request::from_str(&text)
        .map_err(|error| format!("{file}: lambda_http cannot read it: {error}"))?;
    let context = match request.request_context_ref() {
        Some(RequestContext::WebSocket(context)) => context,
        Some(_) => {
            return Err(format!(
                "{file}: lambda_http reads it as another kind of event (an `httpMethod` makes it REST)"
            ))
        }
        None => return Err(format!("{file}: lambda_http finds no request context in it")),
    };
    let fail = |what: String| Err(format!("{file}: {what}"));
    if context.route_key.as_deref() != Some(expected.route_key) {
        return fail(format!("routeKey is {:?}, not {:?}", context.route_key, expected.route_key));
    }
    if context.event_type.as_deref() != Some(expected.event_type) {
        return fail(format!("eventType is {:?}, not {:?}", context.event_type, expected.event_type));
    }
    match context.connection_id.as_deref().map(ConnectionId::parse) {
        Some(Ok(_)) => {}
        other => return fail(format!("connectionId {other:?} is not an API Gateway connection id")),
    }
    if context.message_direction.as_deref() != Some("IN") {
        return fail("messageDirection is not \"IN\"".into());
    }
    for (name, value) in [
        ("requestId", &context.request_id),
        ("stage", &context.stage),
        ("domainName", &context.domain_name),
        ("apiId", &context.apiid),
        ("identity.sourceIp", &context.identity.source_ip),
    ] {
        if value.as_deref().is_none_or(str::is_empty) {
            return fail(format!("requestContext.{name} is missing"));
        }
    }
    if context.connected_at <= 0 || context.connected_at > context.request_time_epoch {
        return fail("connectedAt must be an epoch in ms no later than requestTimeEpoch".into());
    }
    let principal = switchboard_shared::http::principal(&request)
        .map_err(|error| format!("{file}: the handlers cannot read the caller: {error}"))?;
    if principal.user_id.as_str() != expected.user_id || principal.role != expected.role {
        return fail(format!("the caller is {principal:?}, not {} ({:?})", expected.user_id, expected.role));
    }
    let authorizer = &context.authorizer.fields;
    if authorizer.get("principalId").and_then(Value::as_str) != Some(expected.user_id) {
        return fail("authorizer.principalId is not the user id".into());
    }
    if raw.get("isBase64Encoded") != Some(&Value::Bool(false)) {
        return fail("isBase64Encoded must be false".into());
    }
    let body = match request.body() {
        Body::Text(text) => Some(text.as_str()),
        Body::Empty => None,
        Body::Binary(_) => return fail("the body is binary".into()),
        _ => return fail("the body is of an unknown kind".into()),
    };
    match (expected.event_type, body) {
        ("MESSAGE", None) => fail("a MESSAGE event needs the frame as its body".into()),
        ("MESSAGE", Some(frame)) => check_fixture_frame(&file, expected, frame),
        (_, Some(_)) => fail(format!("a {} event has no body", expected.event_type)),
        ("CONNECT", None) => {
            // API Gateway passes the query string on to `$connect`; the token in it is the one the
            // authorizer turned into the context, so they must speak for the same user.
            let token = raw.pointer("/queryStringParameters/token").and_then(Value::as_str);
            match token.map(claims) {
                None => Ok(()),
                Some(Err(error)) => fail(format!("queryStringParameters.token: {error}")),
                Some(Ok(claims)) => {
                    let (sub, role) = (claims.get("sub"), claims.get("role"));
                    if sub.and_then(Value::as_str) != Some(expected.user_id)
                        || role.and_then(Value::as_str) != Some(expected.role.as_str())
                    {
                        return fail(format!(
                            "the token is for {sub:?} {role:?}, the context for the caller"
                        ));
                    }
                    Ok(())
                }
            }
        }
        _ => Ok(()),
    }
}

/// The body of a MESSAGE fixture: the frame of its route (or, for `$default`, an action that has
/// no route).
fn check_fixture_frame(file: &str, expected: &Expected, frame: &str) -> Result<(), String> {
    let mut fields = match serde_json::from_str::<Value>(frame) {
        Ok(Value::Object(fields)) => fields,
        _ => return Err(format!("{file}: the body is not a JSON object")),
    };
    take_ref(file, &mut fields)?;
    let action = fields.get("action").and_then(Value::as_str).map(str::to_owned);
    if expected.route_key == "$default" {
        return match action {
            Some(action) if !CLIENT_ACTIONS.contains(&action.as_str()) => Ok(()),
            other => Err(format!("{file}: a $default frame needs an action without a route, not {other:?}")),
        };
    }
    if action.as_deref() != Some(expected.route_key) {
        return Err(format!(
            "{file}: the frame's action {action:?} is not the route key {}",
            expected.route_key
        ));
    }
    serde_json::from_value::<ClientFrame>(Value::Object(fields))
        .map(|_| ())
        .map_err(|error| format!("{file}: the frame is not a ClientFrame: {error}"))
}

#[test]
fn every_websocket_fixture_is_a_websocket_event_with_an_authorizer_context() {
    let problems: Vec<String> =
        FIXTURES.iter().filter_map(|expected| check_fixture(expected).err()).collect();
    assert_no_problems(&problems, "WebSocket event fixtures");
}

#[test]
fn every_websocket_binary_has_a_fixture_and_every_realtime_fixture_a_binary() {
    let bins = workspace_root().join("functions").join("realtime").join("src").join("bin");
    let expected: BTreeSet<String> = FIXTURES.iter().map(|f| f.binary.to_owned()).collect();
    let binaries: BTreeSet<String> = fs::read_dir(&bins)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", bins.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    let events = workspace_root().join("events");
    let fixtures: BTreeSet<String> = fs::read_dir(&events)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", events.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".json")?;
            stem.starts_with("realtime-").then(|| stem.split('.').next().unwrap_or(stem).to_owned())
        })
        .collect();
    assert_eq!(binaries, expected, "functions/realtime/src/bin/ and the FIXTURES of this test differ");
    assert_eq!(fixtures, expected, "events/realtime-*.json and the FIXTURES of this test differ");
}

// ---------------------------------------------------------------------------------------------
// The envelope, as the dispatcher handles it
// ---------------------------------------------------------------------------------------------

/// A realtime port that must not be used: the handlers below never fan out.
struct NoRealtime;

#[async_trait]
impl Realtime for NoRealtime {
    async fn post(&self, _connection: &ConnectionId, _frame: &[u8]) -> Result<(), PostError> {
        Err(PostError::Failed("these tests post nothing".into()))
    }
}

/// Answers like the real routes do, without a store: `ping` replies `pong` (after parsing its
/// payload, which must have lost `action` and `ref`), `typing` has no reply of its own,
/// `send_message` is refused.
async fn envelope_probe(_app: &App, req: WsRequest) -> WsResult {
    match req.action.as_deref() {
        Some("ping") => {
            let _: Ping = req.payload()?;
            Ok(Some(ServerFrame::Pong { at: now() }))
        }
        Some("typing") => Ok(None),
        _ => Err(ApiError::session_closed()),
    }
}

ws_function!(
    /// The probe, as a function.
    PROBE = "realtime-ping" => envelope_probe
);

/// Feeds `frame` to the probe inside the ping fixture's event; the reply as JSON (`Null` for none).
async fn reply_to(app: &App, frame: &str) -> Value {
    let mut event: Value =
        serde_json::from_str(&read(&fixture_path("realtime-ping"))).expect("the ping fixture");
    event["body"] = Value::String(frame.to_owned());
    let request = lambda_http::request::from_str(&event.to_string()).expect("a WebSocket event");
    let response = dispatch_ws(app, &PROBE, request).await;
    assert_eq!(response.status(), 200, "a frame's reply always goes back with 200");
    match response.body() {
        Body::Empty => Value::Null,
        Body::Text(text) => serde_json::from_str(text).expect("a JSON reply"),
        other => panic!("unexpected reply body {other:?}"),
    }
}

#[tokio::test]
async fn the_envelope_behaves_as_the_document_says() {
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    let store = SqliteItemStore::open(&dir.path().join("envelope.db")).expect("a SQLite store");
    let app = App::new(Arc::new(store), Arc::new(NoRealtime));

    let pong = reply_to(&app, r#"{"action":"ping","ref":"ka-19"}"#).await;
    assert_eq!((pong["type"].as_str(), pong["ref"].as_str()), (Some("pong"), Some("ka-19")), "{pong}");

    let pong = reply_to(&app, r#"{"action":"ping"}"#).await;
    assert!(pong.get("ref").is_none(), "a reply to a frame without ref has none: {pong}");

    let ack = reply_to(&app, r#"{"action":"typing","ref":"t-7"}"#).await;
    assert_eq!(ack, serde_json::json!({"type": "ack", "ref": "t-7"}), "a frame without a reply of its own");

    let nothing = reply_to(&app, r#"{"action":"typing"}"#).await;
    assert_eq!(nothing, Value::Null, "without a ref, a frame without a reply of its own gets nothing");

    let refused = reply_to(&app, r#"{"action":"send_message","ref":"msg-43"}"#).await;
    let expected = serde_json::json!({
        "type": "error", "code": "session_closed", "message": "the session is closed",
        "action": "send_message", "ref": "msg-43",
    });
    assert_eq!(refused, expected, "a refused frame's error carries its action and ref");

    let long_ref = format!(r#"{{"action":"ping","ref":"{}"}}"#, "r".repeat(MAX_REF_CHARS + 1));
    let unread = [
        ("hello", "malformed_frame"),
        ("[1, 2]", "malformed_frame"),
        (r#"{"action":"ping","ref":""}"#, "invalid_frame"),
        (r#"{"action":"ping","ref":7}"#, "invalid_frame"),
        (long_ref.as_str(), "invalid_frame"),
        (r#"{"action":5,"ref":"x-1"}"#, "invalid_frame"),
    ];
    for (frame, code) in unread {
        let error = reply_to(&app, frame).await;
        assert_eq!(error["type"], "error", "{frame}: {error}");
        assert_eq!(error["code"], code, "{frame}: {error}");
        assert!(error.get("ref").is_none() && error.get("action").is_none(), "{frame}: {error}");
    }

    let extra = reply_to(&app, r#"{"action":"ping","ref":"ka-20","now":true}"#).await;
    assert_eq!(
        (extra["code"].as_str(), extra["action"].as_str(), extra["ref"].as_str()),
        (Some("invalid_frame"), Some("ping"), Some("ka-20")),
        "unknown fields are refused: {extra}"
    );
}

//! No input makes a handler fail: every path and query parameter of every operation in
//! `docs/openapi.json`, driven with extreme and malformed values (overflowing numbers and years,
//! empty, very long, unicode, percent-encoded junk, `..`, NUL) by callers of every role through
//! the real local gateway, gets an answer below 500 in the API's error shape. And when a handler
//! does panic, the caller still gets a JSON 500 with the request id, as from any other failure.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::{Method, Url};
use serde_json::Value;
use switchboard_local::ws::{Connections, LocalRealtime};
use switchboard_shared::http::{HandlerResult, StreamingResult};
use switchboard_shared::lambda::{dispatch, dispatch_streaming, dispatch_ws, WsRequest, WsResult};
use switchboard_shared::{http_function, streaming_http_function, ws_function, App};
use switchboard_tests::{assigned_session, Backend, Caller, TestApi};

/// The operations as the API documents them.
const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// Generated values per parameter, role and operation, on top of the fixed extremes: enough to
/// vary shapes, few enough for the whole sweep to stay well under a minute on two cores.
const GENERATED_CASES: u32 = 4;

/// Requests of the sweep in flight at once: the gateway answers on both cores.
const IN_FLIGHT: usize = 4;

/// Values every parameter gets: what overflows a number, a date or a ULID, what is empty or very
/// long, unicode beyond the basic plane, path tricks and NUL.
fn extremes() -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        " ",
        "0",
        "-1",
        "201",
        "-9223372036854775809",
        "18446744073709551616",
        "340282366920938463463374607431768211457",
        "1e308",
        "NaN",
        "true",
        "null",
        "9999-12-31T23:59:59-01:00",
        "0000-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59Z",
        "-9999-01-01",
        "+10000-01-01",
        "0000-01-01",
        "9999-12-31",
        "9998-12-31",
        "1969-12-31T23:59:59Z",
        "1970-01-01",
        "2026-02-30",
        "2026-11-25T25:61:61Z",
        "daily-9999-12-31",
        "daily--9999-01-01",
        "daily-0000-01-01",
        "7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "00000000000000000000000000",
        "eyJhIjoxfQ",
        "AAAA",
        "..",
        "../..",
        ".",
        "/",
        "\\",
        "\0",
        "a\0b",
        "%00",
        "%",
        "%ZZ",
        "%C3%28",
        "\u{FFFF}",
        "\u{202E}abc",
        "😀",
        "Ω≈ç√∫",
    ]
    .iter()
    .map(|value| (*value).to_owned())
    .collect();
    values.push("a".repeat(4096));
    values.push("😀".repeat(1000));
    values.push("9".repeat(400));
    values
}

/// Values that also go out without percent-encoding, as a careless client would send them.
fn raw_junk() -> Vec<&'static str> {
    vec!["%", "%ZZ", "%00", "%C3%28", "%2e%2e", "%2F", "%FF%FE", "%%", "a%2"]
}

/// Generated values: numbers of every size, years far outside the calendar (with offsets),
/// arbitrary unicode (NUL and control characters included), ULID-shaped junk.
fn generated() -> impl Strategy<Value = String> {
    let dates =
        (-99_999i32..=99_999, 0u8..=13, 0u8..=32).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"));
    let times = (-99_999i32..=99_999, -23i8..=23).prop_map(|(year, hours)| {
        let sign = if hours < 0 { '-' } else { '+' };
        format!("{year:04}-12-31T23:59:59{sign}{:02}:59", hours.unsigned_abs())
    });
    let ulids = proptest::collection::vec(
        proptest::sample::select(b"0123456789ABCDEFGHJKMNPQRSTVWXYZz!%./".to_vec()),
        20..32,
    )
    .prop_map(|bytes| bytes.into_iter().map(char::from).collect::<String>());
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u128>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        dates,
        times,
        ulids,
        proptest::collection::vec(any::<char>(), 0..80).prop_map(String::from_iter),
    ]
}

/// How a value goes into the URL.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    /// Percent-encoded: the handler sees the value itself.
    Encoded,
    /// As is: the gateway sees the client's bytes.
    Raw,
}

/// One operation of the API document.
#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    path: String,
    /// `(name, in)`: `path` or `query`.
    parameters: Vec<(String, String)>,
}

fn operations() -> Vec<Operation> {
    let document: Value = serde_json::from_str(OPENAPI).expect("docs/openapi.json is JSON");
    let paths = document["paths"].as_object().expect("the document has paths");
    let mut operations = Vec::new();
    for (path, methods) in paths {
        for (method, operation) in methods.as_object().expect("methods of a path") {
            let parameters = operation["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .map(|p| {
                            let name = p["name"].as_str().expect("a parameter name").to_owned();
                            (name, p["in"].as_str().expect("where a parameter goes").to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("an HTTP method");
            operations.push(Operation { method, path: path.clone(), parameters });
        }
    }
    operations
}

/// The world the sweep runs in: a session with messages, so valid ids reach deep into the
/// handlers while another parameter is malformed.
struct World {
    api: TestApi,
    /// Valid values for path parameters, by name (for the ones not being swept).
    valid: BTreeMap<&'static str, String>,
}

impl World {
    async fn new() -> Self {
        let api = TestApi::start(Backend::Sqlite).await;
        let arranged = assigned_session(&api).await;
        let valid = BTreeMap::from([
            ("id", arranged.session.clone()),
            ("session_id", arranged.session.clone()),
            ("message_id", arranged.customer_message.clone()),
            ("note_id", "01JD00000000000000000000N1".to_owned()),
            ("report_id", "daily-2026-01-05".to_owned()),
        ]);
        Self { api, valid }
    }

    /// The URL of `operation` with `value` as `swept` (every other path parameter valid, every
    /// other query parameter left out).
    fn url(&self, operation: &Operation, swept: &str, value: &str, encoding: Encoding) -> Url {
        let mut url = Url::parse(&self.api.base).expect("the gateway's base URL");
        let mut raw_path = url.path().trim_end_matches('/').to_owned();
        let mut query = None;
        for segment in operation.path.trim_start_matches('/').split('/') {
            let name = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
            let text = match name {
                Some(name) if name == swept => match encoding {
                    Encoding::Encoded => encode(value),
                    Encoding::Raw => value.to_owned(),
                },
                Some(name) => encode(self.valid.get(name).map(String::as_str).unwrap_or("x")),
                None => segment.to_owned(),
            };
            raw_path.push('/');
            raw_path.push_str(&text);
        }
        if operation.parameters.iter().any(|(name, place)| name == swept && place == "query") {
            query = Some(match encoding {
                Encoding::Encoded => format!("{}={}", encode(swept), encode(value)),
                Encoding::Raw => format!("{swept}={value}"),
            });
        }
        url.set_path(&raw_path);
        url.set_query(query.as_deref());
        url
    }

    /// Sends one request; `Err` says what went wrong for the client.
    async fn probe(&self, method: &Method, url: Url, caller: Caller) -> Result<(), String> {
        let request =
            self.api.client.request(method.clone(), url.clone()).bearer_auth(caller.token(&self.api));
        let what = format!("{caller:?} {method} {url}");
        let response = request.send().await.map_err(|error| format!("{what}: no answer ({error})"))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|error| format!("{what}: body cut off ({error})"))?;
        if status >= 500 {
            return Err(format!("{what}: {status} {text}"));
        }
        if status >= 400 {
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let (code, message) = (&body["error"]["code"], &body["error"]["message"]);
            if !code.is_string() || !message.is_string() {
                return Err(format!("{what}: {status} without the error shape: {text}"));
            }
        }
        Ok(())
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'~' => char::from(byte).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[test]
fn no_parameter_value_of_any_operation_makes_the_api_fail() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let world = runtime.block_on(World::new());
    let callers = [Caller::CustomerA, Caller::AgentX, Caller::Admin];
    let operations = operations();
    assert!(operations.len() >= 40, "the API document lists the operations: {}", operations.len());
    let mut failures = Vec::new();
    let mut probes = 0usize;
    for operation in &operations {
        if operation.parameters.is_empty() {
            for caller in callers {
                let url = world.url(operation, "", "", Encoding::Encoded);
                probes += 1;
                failures.extend(runtime.block_on(world.probe(&operation.method, url, caller)).err());
            }
            continue;
        }
        for (index, (name, _)) in operation.parameters.iter().enumerate() {
            let name = name.as_str();
            // The fixed extremes, every one: all of them from an admin (whom no role check
            // stops), and from the customer and the agent by turns, so each role sends each
            // kind of value somewhere in the sweep.
            let values = extremes().into_iter().map(|value| (value, Encoding::Encoded));
            let raw = raw_junk().into_iter().map(|value| (value.to_owned(), Encoding::Raw));
            let mut requests = Vec::new();
            for (n, (value, encoding)) in values.chain(raw).enumerate() {
                let url = world.url(operation, name, &value, encoding);
                requests.push((url.clone(), Caller::Admin));
                let other = if (n + index) % 2 == 0 { Caller::CustomerA } else { Caller::AgentX };
                requests.push((url, other));
            }
            probes += requests.len();
            let answers = runtime.block_on(
                stream::iter(requests)
                    .map(|(url, caller)| world.probe(&operation.method, url, caller))
                    .buffer_unordered(IN_FLIGHT)
                    .collect::<Vec<_>>(),
            );
            failures.extend(answers.into_iter().filter_map(Result::err));
            // Generated values, shrunk to the simplest failing one.
            let mut runner = TestRunner::new(Config {
                cases: GENERATED_CASES * callers.len() as u32,
                failure_persistence: None,
                ..Config::default()
            });
            let strategy = (generated(), proptest::sample::select(callers.to_vec()));
            let outcome = runner.run(&strategy, |(value, caller)| {
                let url = world.url(operation, name, &value, Encoding::Encoded);
                runtime.block_on(world.probe(&operation.method, url, caller)).map_err(TestCaseError::fail)
            });
            probes += runner.config().cases as usize;
            if let Err(failure) = outcome {
                failures.push(failure.to_string());
            }
        }
    }
    assert!(failures.is_empty(), "{} of {probes} requests failed:\n{}", failures.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// A handler's panic
// ---------------------------------------------------------------------------------------------

async fn panics(_app: &App, _req: lambda_http::Request) -> HandlerResult {
    panic!("a bug in a handler")
}

async fn panics_streaming(_app: &App, _req: lambda_http::Request) -> StreamingResult {
    panic!("a bug in a streaming handler")
}

async fn panics_on_a_frame(_app: &App, _req: WsRequest) -> WsResult {
    panic!("a bug in a WebSocket handler")
}

http_function!(
    /// A function whose handler panics.
    PANICS = "test-panics" => panics
);
streaming_http_function!(
    /// A streaming function whose handler panics.
    PANICS_STREAMING = "test-panics-streaming" => panics_streaming
);
ws_function!(
    /// A WebSocket function whose handler panics.
    PANICS_ON_A_FRAME = "test-panics-on-a-frame" => panics_on_a_frame
);

/// An app over a fresh SQLite store (the panicking handlers never touch it).
async fn app(api: &TestApi) -> App {
    App::new(api.store.clone(), Arc::new(LocalRealtime::new(Arc::new(Connections::default()))))
}

fn fixture(text: &str) -> (lambda_http::Request, String) {
    let event: Value = serde_json::from_str(text).expect("a fixture");
    let request_id = event["requestContext"]["requestId"].as_str().expect("a request id").to_owned();
    (lambda_http::request::from_str(text).expect("a Lambda request"), request_id)
}

fn assert_internal_error(status: u16, body: &[u8], request_id: &str) {
    assert_eq!(status, 500, "{}", String::from_utf8_lossy(body));
    let body: Value = serde_json::from_slice(body).expect("a JSON error body");
    assert_eq!(body["error"]["code"], "internal", "{body}");
    assert_eq!(body["error"]["request_id"], request_id, "{body}");
    assert!(!body["error"]["message"].as_str().unwrap_or_default().contains("bug"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_panics_answers_a_json_500_with_the_request_id() {
    let api = TestApi::start(Backend::Sqlite).await;
    let app = app(&api).await;
    let (request, request_id) = fixture(include_str!("../../events/chat-list-rooms.json"));

    let response = dispatch(&app, &PANICS, request).await;

    assert_internal_error(response.status().as_u16(), response.body().as_ref(), &request_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_handler_that_panics_answers_a_json_500_with_the_request_id() {
    let api = TestApi::start(Backend::Sqlite).await;
    let app = app(&api).await;
    let (request, request_id) = fixture(include_str!("../../events/chat-list-rooms.json"));

    let (parts, chunks) = dispatch_streaming(&app, &PANICS_STREAMING, request).await.into_parts();

    let body: Vec<u8> = chunks.map(|chunk| chunk.expect("a chunk").to_vec()).concat().await;
    assert_internal_error(parts.status.as_u16(), &body, &request_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_handler_that_panics_answers_an_error_frame_with_the_request_id() {
    let api = TestApi::start(Backend::Sqlite).await;
    let app = app(&api).await;
    let (request, request_id) = fixture(include_str!("../../events/realtime-default.json"));

    let response = dispatch_ws(&app, &PANICS_ON_A_FRAME, request).await;

    assert_eq!(response.status().as_u16(), 200, "a frame's error never drops the socket");
    let frame: Value = serde_json::from_slice(response.body().as_ref()).expect("a JSON frame");
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["code"], "internal", "{frame}");
    assert_eq!(frame["request_id"], request_id.as_str(), "{frame}");
}

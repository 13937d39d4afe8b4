//! Bad input: malformed or missing bodies, unknown fields, wrong types, unacceptable values,
//! oversized bodies, malformed ids, limits, cursors and filters. Each is refused with its status
//! and code in the JSON error body, writes nothing, and no input at all makes the server fail.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_tests::{
    arranged, assigned_session, open_session, send, snapshot, AssignedSession, Backend, Caller, Reply,
    TestApi,
};

/// The API's largest accepted request body.
const MAX_BODY: usize = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------------------------

/// What every test starts from.
struct World {
    /// Customer A's session, assigned to agent X.
    assigned: String,
    /// Customer A's message in `assigned`.
    customer_message: String,
    /// Agent X's message in `assigned`.
    agent_message: String,
    /// Customer A's second session, waiting.
    second: String,
    /// Customer B's session, waiting.
    other: String,
}

impl World {
    /// The world's sessions, for [`snapshot`].
    fn sessions(&self) -> [&str; 3] {
        [&self.assigned, &self.second, &self.other]
    }

    /// A text with the world's ids replaced by names, for failure messages.
    fn name_ids(&self, text: &str) -> String {
        [
            (&self.assigned, "{S}"),
            (&self.customer_message, "{A's message}"),
            (&self.agent_message, "{X's message}"),
            (&self.second, "{S2}"),
            (&self.other, "{B's session}"),
        ]
        .iter()
        .fold(text.to_owned(), |text, (id, name)| text.replace(id.as_str(), name))
    }
}

/// Arranges the world: customer A's assigned session, A's second session, customer B's session
/// and two rooms.
async fn world(api: &TestApi) -> World {
    let AssignedSession { session: assigned, customer_message, agent_message } = assigned_session(api).await;
    let second = open_session(api, Caller::CustomerA, "and another thing").await;
    send(api, Caller::CustomerA, &second, "hello again").await;
    let other = open_session(api, Caller::CustomerB, "I want a refund").await;
    for name in ["billing", "returns"] {
        let reply = Caller::Admin.call(api, Method::POST, "/chat/rooms", Some(json!({"name": name}))).await;
        arranged(reply, 201, "the admin creates a room");
    }
    World { assigned, customer_message, agent_message, second, other }
}

// ---------------------------------------------------------------------------------------------
// Requests and their expected refusals
// ---------------------------------------------------------------------------------------------

/// What a request carries as its body.
#[derive(Debug, Clone)]
enum Payload {
    Nothing,
    Json(Value),
    Raw(Vec<u8>),
}

/// A request to an endpoint, by a caller who may use it.
#[derive(Debug, Clone)]
struct Request {
    caller: Caller,
    method: Method,
    path: String,
    payload: Payload,
}

impl Request {
    fn new(caller: Caller, method: Method, path: impl Into<String>) -> Self {
        Self { caller, method, path: path.into(), payload: Payload::Nothing }
    }

    fn json(self, body: Value) -> Self {
        Self { payload: Payload::Json(body), ..self }
    }

    fn raw(self, body: impl Into<Vec<u8>>) -> Self {
        Self { payload: Payload::Raw(body.into()), ..self }
    }

    fn at(self, path: impl Into<String>) -> Self {
        Self { path: path.into(), ..self }
    }

    async fn send(&self, api: &TestApi) -> Reply {
        match &self.payload {
            Payload::Nothing => self.caller.call(api, self.method.clone(), &self.path, None).await,
            Payload::Json(body) => {
                self.caller.call(api, self.method.clone(), &self.path, Some(body.clone())).await
            }
            Payload::Raw(bytes) => {
                api.call_raw(self.method.clone(), &self.path, &self.caller.token(api), bytes.clone()).await
            }
        }
    }

    fn describe(&self, world: &World) -> String {
        let body = match &self.payload {
            Payload::Nothing => "no body".to_owned(),
            Payload::Json(body) => body.to_string(),
            Payload::Raw(bytes) => format!("{:?}", String::from_utf8_lossy(bytes)),
        };
        let body = if body.chars().count() > 90 {
            format!("{}… ({} bytes)", body.chars().take(90).collect::<String>(), body.len())
        } else {
            body
        };
        world.name_ids(&format!("{:?} {} {} with {body}", self.caller, self.method, self.path))
    }
}

/// A request and the refusal it must get (`code: None` when only the status is specified).
struct Refusal {
    request: Request,
    status: u16,
    code: Option<&'static str>,
}

fn refused(request: Request, status: u16, code: &'static str) -> Refusal {
    Refusal { request, status, code: Some(code) }
}

/// Calls that write, since the last reset of the store's counters.
fn writes(api: &TestApi) -> usize {
    let calls = api.store.calls();
    ["put", "update", "delete", "transact_write"]
        .iter()
        .map(|kind| calls.get(kind).copied().unwrap_or(0))
        .sum()
}

/// What is wrong with an error reply's body, if anything: it must be
/// `{"error": {"code": "...", "message": "..."}}`.
fn error_shape_problem(reply: &Reply) -> Option<String> {
    let error = &reply.body["error"];
    let fine = reply.body.as_object().is_some_and(|o| o.len() == 1)
        && error["code"].as_str().is_some_and(|c| !c.is_empty())
        && error["message"].as_str().is_some_and(|m| !m.is_empty());
    (!fine).then(|| format!("the error body is not {{\"error\":{{\"code\",\"message\"}}}}: {}", reply.body))
}

/// Sends each request to one fresh world; each must be refused as expected, without a write, and
/// the world must look the same afterwards.
async fn expect_refusals(cases: impl FnOnce(&World) -> Vec<Refusal>) {
    let api = TestApi::start(Backend::Sqlite).await;
    let world = world(&api).await;
    let cases = cases(&world);
    let before = snapshot(&api, &world.sessions()).await;
    let mut wrong = Vec::new();
    for case in &cases {
        api.store.reset();
        let reply = case.request.send(&api).await;
        let mut problems = Vec::new();
        if reply.status != case.status || case.code.is_some_and(|code| reply.error_code() != code) {
            problems.push(format!(
                "expected {} {}, got {} {}",
                case.status,
                case.code.unwrap_or("(any code)"),
                reply.status,
                reply.body
            ));
        }
        if reply.status >= 400 {
            problems.extend(error_shape_problem(&reply));
        }
        if writes(&api) != 0 {
            problems.push(format!("it wrote: {:?}", api.store.calls()));
        }
        if !problems.is_empty() {
            wrong.push(format!("  {}: {}", case.request.describe(&world), problems.join("; ")));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} bad inputs were not refused properly:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    assert_eq!(
        snapshot(&api, &world.sessions()).await,
        before,
        "a refused request changed what the admin sees"
    );
}

/// Every endpoint that reads a JSON body, with a body it accepts, by a caller it accepts it from.
/// In this order each succeeds after the ones before it.
fn json_endpoints(w: &World) -> Vec<Request> {
    vec![
        Request::new(Caller::CustomerA, Method::POST, "/chat/sessions")
            .json(json!({"subject": "a question"})),
        Request::new(Caller::CustomerA, Method::POST, "/chat/messages")
            .json(json!({"session_id": w.assigned, "body": "hello"})),
        Request::new(Caller::CustomerA, Method::POST, format!("/chat/sessions/{}/read", w.assigned))
            .json(json!({"message_id": w.agent_message})),
        Request::new(
            Caller::CustomerA,
            Method::PATCH,
            format!("/chat/messages/{}/{}", w.assigned, w.customer_message),
        )
        .json(json!({"body": "edited"})),
        Request::new(Caller::AgentX, Method::POST, format!("/chat/users/{}/block", Caller::CustomerB.id()))
            .json(json!({"reason": "spam"})),
        Request::new(Caller::Admin, Method::POST, "/chat/rooms").json(json!({"name": "shipping"})),
        Request::new(
            Caller::AgentY,
            Method::POST,
            format!("/admin/chat-dashboard/sessions/{}/assign", w.other),
        )
        .json(json!({})),
    ]
}

/// The endpoints whose body is required (block and assign read a missing body as `{}`).
fn body_required(request: &Request) -> bool {
    !(request.path.ends_with("/block") || request.path.ends_with("/assign"))
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_is_400_malformed_json_and_writes_nothing() {
    let not_json: [&[u8]; 6] = [
        b"{",
        b"not json",
        b"{'subject': 'single quotes'}",
        b"\xff\xfe\xfd",
        b"\xef\xbb\xbf{\"subject\": \"after a byte order mark\"}",
        b"{\"\\x\": 1}",
    ];
    expect_refusals(|w| {
        let mut cases = Vec::new();
        for endpoint in json_endpoints(w) {
            let Payload::Json(body) = &endpoint.payload else { unreachable!("JSON endpoints carry JSON") };
            let acceptable = body.to_string();
            let spoilt = [
                acceptable[..acceptable.len() - 1].to_owned(),
                format!("{},}}", &acceptable[..acceptable.len() - 1]),
                format!("{acceptable} trailing"),
                format!("{acceptable}{acceptable}"),
            ];
            for body in not_json.iter().map(|b| b.to_vec()).chain(spoilt.map(String::into_bytes)) {
                cases.push(refused(endpoint.clone().raw(body), 400, "malformed_json"));
            }
        }
        cases
    })
    .await;
}

#[tokio::test]
async fn json_that_breaks_after_a_wrong_first_field_is_still_400_malformed_json() {
    // The body is not JSON at all; that its first field is also unknown or of the wrong type
    // must not turn the answer into a 422.
    expect_refusals(|w| {
        json_endpoints(w)
            .into_iter()
            .flat_map(|endpoint| {
                ["{\"no_such_field\": }", "[1, 2", "{\"no_such_field\": 1"]
                    .map(|body| refused(endpoint.clone().raw(body), 400, "malformed_json"))
            })
            .collect()
    })
    .await;
}

#[tokio::test]
async fn a_json_array_is_not_taken_for_an_object() {
    // serde would read a struct from a sequence of its fields in order; the API takes objects only.
    expect_refusals(|w| {
        let positional = [
            json!(["a question"]),
            json!([w.assigned, "hello"]),
            json!([w.agent_message]),
            json!(["edited"]),
            json!(["spam"]),
            json!(["shipping"]),
            json!(["agent-yuri"]),
        ];
        let mut cases: Vec<Refusal> = json_endpoints(w)
            .into_iter()
            .zip(positional)
            .map(|(endpoint, body)| refused(endpoint.json(body), 422, "validation_failed"))
            .collect();
        // Endpoints whose fields are all optional read an empty array as an empty object.
        for endpoint in json_endpoints(w).into_iter().filter(|e| !body_required(e)) {
            cases.push(refused(endpoint.json(json!([])), 422, "validation_failed"));
        }
        cases
    })
    .await;
}

#[tokio::test]
async fn a_wrong_type_for_an_enumerated_field_is_422_not_malformed_json() {
    expect_refusals(|w| {
        let create = &json_endpoints(w)[0];
        [
            json!({"subject": "x", "priority": 1}),
            json!({"subject": "x", "priority": null}),
            json!({"subject": "x", "priority": ["high"]}),
            json!({"subject": "x", "priority": true}),
        ]
        .into_iter()
        .map(|body| refused(create.clone().json(body), 422, "validation_failed"))
        .collect()
    })
    .await;
}

#[tokio::test]
async fn ulids_beyond_128_bits_are_400_invalid_id_not_aliases_of_real_ids() {
    // A ULID's first character is 0 to 7; with 8 to Z the value needs more than 128 bits, and a
    // decoder that drops the extra bits reads the id of another record (8… is 0…, 9… is 1…).
    expect_refusals(|w| {
        let alias = |id: &str| {
            let first = id.chars().next().expect("an id");
            let shifted = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
                .chars()
                .nth("0123456789ABCDEFGHJKMNPQRSTVWXYZ".find(first).expect("Crockford base32") + 8);
            format!("{}{}", shifted.expect("a first character below 8"), &id[1..])
        };
        let (s, m) = (alias(&w.assigned), alias(&w.customer_message));
        let a = Caller::CustomerA;
        vec![
            refused(Request::new(a, Method::GET, format!("/chat/sessions/{s}")), 400, "invalid_id"),
            refused(
                Request::new(a, Method::GET, format!("/chat/sessions/{s}/participants")),
                400,
                "invalid_id",
            ),
            refused(Request::new(a, Method::GET, format!("/chat/messages/{s}")), 400, "invalid_id"),
            refused(Request::new(a, Method::POST, format!("/chat/sessions/{s}/close")), 400, "invalid_id"),
            refused(
                Request::new(a, Method::PATCH, format!("/chat/messages/{}/{m}", w.assigned))
                    .json(json!({"body": "x"})),
                400,
                "invalid_id",
            ),
            refused(
                Request::new(a, Method::GET, format!("/chat/messages/{}?after={m}", w.assigned)),
                400,
                "invalid_id",
            ),
            refused(
                Request::new(a, Method::GET, "/chat/sessions/8ZZZZZZZZZZZZZZZZZZZZZZZZZ".to_owned()),
                400,
                "invalid_id",
            ),
            refused(
                Request::new(a, Method::POST, "/chat/messages").json(json!({"session_id": s, "body": "x"})),
                422,
                "validation_failed",
            ),
            refused(
                Request::new(a, Method::POST, format!("/chat/sessions/{}/read", w.assigned))
                    .json(json!({"message_id": m})),
                422,
                "validation_failed",
            ),
        ]
    })
    .await;
}

#[tokio::test]
async fn a_missing_body_is_400_missing_body_where_one_is_required() {
    expect_refusals(|w| {
        json_endpoints(w)
            .into_iter()
            .filter(body_required)
            .flat_map(|endpoint| {
                [
                    Request { payload: Payload::Nothing, ..endpoint.clone() },
                    endpoint.clone().raw(""),
                    endpoint.raw(" \r\n\t "),
                ]
            })
            .map(|request| refused(request, 400, "missing_body"))
            .collect()
    })
    .await;
}

#[tokio::test]
async fn unknown_fields_are_422_validation_failed_so_nothing_can_be_smuggled_in() {
    expect_refusals(|w| {
        let smuggled: Vec<(usize, Value)> = vec![
            (0, json!({"subject": "x", "customer_id": "cust-bob"})),
            (0, json!({"subject": "x", "status": "active"})),
            (0, json!({"subject": "x", "agent_id": "agent-xena"})),
            (0, json!({"subject": "x", "Subject": "x"})),
            (1, json!({"session_id": w.assigned, "body": "x", "sender_id": "agent-xena"})),
            (1, json!({"session_id": w.assigned, "body": "x", "sender_role": "admin"})),
            (2, json!({"message_id": w.agent_message, "user_id": "cust-bob"})),
            (3, json!({"body": "x", "deleted": true})),
            (3, json!({"body": "x", "sender_id": "cust-bob"})),
            (4, json!({"reason": "x", "blocked_by": "admin-zoe"})),
            (5, json!({"name": "x", "created_by": "cust-ada"})),
            (5, json!({"name": "x", "id": "01JD0000000000000000000002"})),
            (6, json!({"status": "active"})),
            (6, json!({"agent": "agent-yuri"})),
        ];
        let endpoints = json_endpoints(w);
        smuggled
            .into_iter()
            .map(|(index, body)| refused(endpoints[index].clone().json(body), 422, "validation_failed"))
            .collect()
    })
    .await;
}

#[tokio::test]
async fn wrong_types_are_422_validation_failed() {
    expect_refusals(|w| {
        let endpoints = json_endpoints(w);
        let mut cases = vec![
            (0, json!({"subject": 42})),
            (0, json!({"subject": ["x"]})),
            (0, json!({"subject": "x", "room_id": 5})),
            (1, json!({"session_id": 123, "body": "x"})),
            (1, json!({"session_id": w.assigned, "body": true})),
            (1, json!({"session_id": w.assigned, "body": {"text": "x"}})),
            (1, json!({"session_id": w.assigned, "body": "x", "client_message_id": 7})),
            (2, json!({"message_id": {}})),
            (3, json!({"body": 3.5})),
            (4, json!({"reason": 5})),
            (5, json!({"name": null})),
            (5, json!({"name": "x", "description": []})),
            (6, json!({"agent_id": 1})),
        ];
        // Anything but an object, on every endpoint.
        for (index, endpoint) in endpoints.iter().enumerate() {
            for body in [json!("a string"), json!(1), json!(true), json!(null)] {
                cases.push((index, body));
            }
            // (An empty array where every field is optional is the subject of its own test.)
            if body_required(endpoint) {
                cases.push((index, json!([])));
            }
        }
        cases
            .into_iter()
            .map(|(index, body)| refused(endpoints[index].clone().json(body), 422, "validation_failed"))
            .collect()
    })
    .await;
}

#[tokio::test]
async fn unacceptable_values_are_422_validation_failed() {
    expect_refusals(|w| {
        let endpoints = json_endpoints(w);
        let send = |body: Value| {
            let mut message = json!({"session_id": w.assigned, "body": "x"});
            message.as_object_mut().expect("an object").extend(body.as_object().expect("an object").clone());
            message
        };
        let cases: Vec<(usize, Value)> = vec![
            (0, json!({})),
            (0, json!({"subject": ""})),
            (0, json!({"subject": " \n\t "})),
            (0, json!({"subject": "x".repeat(201)})),
            (0, json!({"subject": "x", "priority": "critical"})),
            (0, json!({"subject": "x", "priority": "HIGH"})),
            (0, json!({"subject": "x", "priority": ""})),
            (0, json!({"subject": "x", "room_id": "not-a-room"})),
            (1, json!({"body": "x"})),
            (1, json!({"session_id": w.assigned})),
            (1, json!({"session_id": "not-a-ulid", "body": "x"})),
            (1, json!({"session_id": w.assigned.to_lowercase() + "0", "body": "x"})),
            (1, send(json!({"body": ""}))),
            (1, send(json!({"body": "   "}))),
            (1, send(json!({"body": "x".repeat(4001)}))),
            (1, send(json!({"body": "é".repeat(4001)}))),
            (1, send(json!({"client_message_id": ""}))),
            (1, send(json!({"client_message_id": "a#b"}))),
            (1, send(json!({"client_message_id": "has space"}))),
            (1, send(json!({"client_message_id": "x".repeat(65)}))),
            (2, json!({})),
            (2, json!({"message_id": "nope"})),
            (3, json!({})),
            (3, json!({"body": ""})),
            (3, json!({"body": "x".repeat(4001)})),
            (4, json!({"reason": "x".repeat(501)})),
            (5, json!({})),
            (5, json!({"name": ""})),
            (5, json!({"name": "  "})),
            (5, json!({"name": "x".repeat(81)})),
            (5, json!({"name": "x", "description": "x".repeat(501)})),
            (6, json!({"agent_id": ""})),
            (6, json!({"agent_id": "agent#yuri"})),
            (6, json!({"agent_id": "x".repeat(129)})),
        ];
        let mut refusals: Vec<Refusal> = cases
            .into_iter()
            .map(|(index, body)| refused(endpoints[index].clone().json(body), 422, "validation_failed"))
            .collect();
        let assign_waiting = format!("/admin/chat-dashboard/sessions/{}/assign", w.other);
        refusals.push(refused(
            Request::new(Caller::Admin, Method::POST, assign_waiting).json(json!({})),
            422,
            "validation_failed",
        ));
        refusals.push(refused(
            Request::new(Caller::AgentX, Method::POST, format!("/chat/users/{}/block", Caller::AgentX.id()))
                .json(json!({})),
            422,
            "cannot_block_self",
        ));
        refusals
    })
    .await;
}

#[tokio::test]
async fn texts_at_their_length_limit_are_accepted() {
    // Arrange: the limits the 422s above are for, counted in characters, not bytes.
    let api = TestApi::start(Backend::Sqlite).await;
    let w = world(&api).await;
    let at_limit = [
        Request::new(Caller::CustomerA, Method::POST, "/chat/sessions")
            .json(json!({"subject": "é".repeat(200)})),
        Request::new(Caller::CustomerA, Method::POST, "/chat/messages").json(
            json!({"session_id": w.assigned, "body": "é".repeat(4000), "client_message_id": "x".repeat(64)}),
        ),
        Request::new(Caller::AgentX, Method::POST, format!("/chat/users/{}/block", "u".repeat(128)))
            .json(json!({"reason": "é".repeat(500)})),
        Request::new(Caller::Admin, Method::POST, "/chat/rooms")
            .json(json!({"name": "é".repeat(80), "description": "é".repeat(500)})),
    ];
    let mut wrong = Vec::new();
    for request in at_limit {
        // Act
        let reply = request.send(&api).await;

        // Assert
        if !(200..300).contains(&reply.status) {
            wrong.push(format!("  {}: got {} {}", request.describe(&w), reply.status, reply.body));
        }
    }
    assert!(wrong.is_empty(), "values at their limit were refused:\n{}", wrong.join("\n"));
}

/// `body` with spaces after it, `total` bytes long.
fn padded(body: &Value, total: usize) -> Vec<u8> {
    let mut bytes = body.to_string().into_bytes();
    assert!(bytes.len() <= total, "the body is already longer than {total} bytes");
    bytes.resize(total, b' ');
    bytes
}

#[tokio::test]
async fn bodies_over_256_kib_are_413_payload_too_large() {
    expect_refusals(|w| {
        json_endpoints(w)
            .into_iter()
            .map(|endpoint| {
                let Payload::Json(body) = &endpoint.payload else {
                    unreachable!("JSON endpoints carry JSON")
                };
                let oversized = padded(body, MAX_BODY + 1);
                refused(endpoint.raw(oversized), 413, "payload_too_large")
            })
            .collect()
    })
    .await;
}

#[tokio::test]
async fn bodies_of_exactly_256_kib_are_accepted() {
    // Arrange: the same bodies as the 413 test, one byte shorter.
    let api = TestApi::start(Backend::Sqlite).await;
    let w = world(&api).await;
    let mut wrong = Vec::new();
    for endpoint in json_endpoints(&w) {
        let Payload::Json(body) = &endpoint.payload else { unreachable!("JSON endpoints carry JSON") };
        let request = endpoint.clone().raw(padded(body, MAX_BODY));

        // Act
        let reply = request.send(&api).await;

        // Assert
        if !(200..300).contains(&reply.status) {
            wrong.push(format!("  {}: got {} {}", request.describe(&w), reply.status, reply.body));
        }
    }
    assert!(wrong.is_empty(), "bodies of exactly {MAX_BODY} bytes were refused:\n{}", wrong.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Path ids
// ---------------------------------------------------------------------------------------------

/// Session or message ids that are not 26-character ULIDs (as they appear in a URL).
const BAD_ULIDS: [&str; 7] = [
    "not-a-ulid",
    "0000000000000000000000000",   // 25 characters
    "000000000000000000000000000", // 27 characters
    "01JD000000000000000000000U",  // U is not Crockford base32
    "%000000000000000000000000000",
    "01JD00000000000000000%2F002",
    "01JD000000000000000000000%20",
];

/// User ids that are not 1 to 128 letters, digits or `-_.@:|+` (as they appear in a URL).
fn bad_user_ids() -> Vec<String> {
    let mut ids: Vec<String> =
        ["cust%23bob", "cust%20bob", "%C3%A9", "cust%00bob", "cust%2Fbob"].map(str::to_owned).into();
    ids.push("x".repeat(129));
    ids
}

/// A request to each endpoint with `id` where a session or message id goes.
fn with_ulid_in_path(w: &World, id: &str) -> Vec<Request> {
    let (s, m) = (&w.assigned, &w.customer_message);
    let a = Caller::CustomerA;
    vec![
        Request::new(a, Method::GET, format!("/chat/sessions/{id}")),
        Request::new(a, Method::POST, format!("/chat/sessions/{id}/close")),
        Request::new(a, Method::GET, format!("/chat/sessions/{id}/participants")),
        Request::new(a, Method::POST, format!("/chat/sessions/{id}/read")).json(json!({"message_id": m})),
        Request::new(a, Method::GET, format!("/chat/messages/{id}")),
        Request::new(a, Method::PATCH, format!("/chat/messages/{id}/{m}")).json(json!({"body": "edited"})),
        Request::new(a, Method::DELETE, format!("/chat/messages/{id}/{m}")),
        Request::new(Caller::AgentY, Method::POST, format!("/admin/chat-dashboard/sessions/{id}/assign"))
            .json(json!({})),
        Request::new(a, Method::PATCH, format!("/chat/messages/{s}/{id}")).json(json!({"body": "edited"})),
        Request::new(a, Method::DELETE, format!("/chat/messages/{s}/{id}")),
    ]
}

/// A request to each endpoint with `id` where a user id goes.
fn with_user_id_in_path(id: &str) -> Vec<Request> {
    ["block", "unblock"]
        .map(|action| Request::new(Caller::AgentX, Method::POST, format!("/chat/users/{id}/{action}")))
        .into()
}

#[tokio::test]
async fn malformed_path_ids_are_400_invalid_id() {
    expect_refusals(|w| {
        let session_or_message = BAD_ULIDS.iter().flat_map(|id| with_ulid_in_path(w, id));
        let user = bad_user_ids().into_iter().flat_map(|id| with_user_id_in_path(&id));
        session_or_message.chain(user).map(|request| refused(request, 400, "invalid_id")).collect()
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Query parameters
// ---------------------------------------------------------------------------------------------

/// Every list, by a caller who may read it.
fn lists(w: &World) -> Vec<Request> {
    vec![
        Request::new(Caller::CustomerA, Method::GET, "/chat/sessions"),
        Request::new(Caller::Admin, Method::GET, "/chat/sessions"),
        Request::new(Caller::CustomerA, Method::GET, format!("/chat/sessions/{}/participants", w.assigned)),
        Request::new(Caller::CustomerA, Method::GET, format!("/chat/messages/{}", w.assigned)),
        Request::new(Caller::CustomerA, Method::GET, "/chat/rooms"),
    ]
}

#[tokio::test]
async fn bad_limits_are_400_invalid_limit() {
    expect_refusals(|w| {
        let limits = ["0", "201", "abc", "-1", "1.5", "99999999999999999999999", "%00", "1e2", "0x10"];
        lists(w)
            .into_iter()
            .flat_map(|list| {
                limits.map(|limit| {
                    refused(list.clone().at(format!("{}?limit={limit}", list.path)), 400, "invalid_limit")
                })
            })
            .collect()
    })
    .await;
}

#[tokio::test]
async fn limits_of_1_and_200_are_accepted() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let w = world(&api).await;
    let mut wrong = Vec::new();
    for list in lists(&w) {
        for limit in [1, 200] {
            let request = list.clone().at(format!("{}?limit={limit}", list.path));

            // Act
            let reply = request.send(&api).await;

            // Assert
            let items = reply.body["items"].as_array().map(Vec::len);
            if reply.status != 200 || items.is_none_or(|n| n > limit) {
                wrong.push(format!("  {}: got {} {}", request.describe(&w), reply.status, reply.body));
            }
        }
    }
    assert!(wrong.is_empty(), "limits at the bounds were refused:\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn garbled_or_forged_cursors_are_400_invalid_cursor() {
    expect_refusals(|w| {
        let encoded = |value: Value| URL_SAFE_NO_PAD.encode(value.to_string());
        let garbled = vec![
            "!!!".to_owned(),
            "%00".to_owned(),
            URL_SAFE_NO_PAD.encode(b"not json"),
            encoded(json!({})),
            encoded(json!([])),
            encoded(json!("a string")),
            encoded(json!({"pk": 1, "sk": 2})),
            encoded(json!({"pk": format!("SESSION#{}", w.assigned), "sk": "MSG#", "extra": "x"})),
            "A".repeat(3000),
        ];
        let mut cases: Vec<Refusal> = lists(w)
            .into_iter()
            .flat_map(|list| {
                garbled.iter().map(move |cursor| {
                    refused(list.clone().at(format!("{}?cursor={cursor}", list.path)), 400, "invalid_cursor")
                })
            })
            .collect();
        // Well-formed cursors pointing into someone else's partition.
        let into_others = [
            (
                Request::new(Caller::CustomerA, Method::GET, format!("/chat/messages/{}", w.assigned)),
                json!({"pk": format!("SESSION#{}", w.other), "sk": format!("MSG#{}", w.agent_message)}),
            ),
            (
                Request::new(Caller::CustomerA, Method::GET, "/chat/sessions"),
                json!({"pk": format!("SESSION#{}", w.other), "sk": "META",
                       "gsi1pk": "CUSTOMER#cust-bob", "gsi1sk": w.other}),
            ),
            (
                Request::new(
                    Caller::CustomerA,
                    Method::GET,
                    format!("/chat/sessions/{}/participants", w.assigned),
                ),
                json!({"pk": format!("SESSION#{}", w.other), "sk": "PART#cust-bob"}),
            ),
        ];
        for (list, cursor) in into_others {
            let path = format!("{}?cursor={}", list.path, encoded(cursor));
            cases.push(refused(list.at(path), 400, "invalid_cursor"));
        }
        cases
    })
    .await;
}

/// The `next_cursor` of a first page of one item.
async fn first_cursor(api: &TestApi, caller: Caller, list: &str) -> String {
    let separator = if list.contains('?') { '&' } else { '?' };
    let reply = caller.call(api, Method::GET, &format!("{list}{separator}limit=1"), None).await;
    let reply = arranged(reply, 200, "a first page");
    reply.body["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("{list} has a second page: {reply:?}"))
        .to_owned()
}

#[tokio::test]
async fn a_cursor_from_another_list_is_400_invalid_cursor() {
    // Arrange: cursors from five lists, each checked to work on its own list.
    let api = TestApi::start(Backend::Sqlite).await;
    let w = world(&api).await;
    let messages_of_s = format!("/chat/messages/{}", w.assigned);
    let participants_of_s = format!("/chat/sessions/{}/participants", w.assigned);
    let lists: [(Caller, String); 5] = [
        (Caller::CustomerA, messages_of_s.clone()),
        (Caller::CustomerA, "/chat/sessions".to_owned()),
        (Caller::Admin, "/chat/rooms".to_owned()),
        (Caller::CustomerA, participants_of_s.clone()),
        (Caller::Admin, "/chat/sessions?status=waiting".to_owned()),
    ];
    let mut cursors = Vec::new();
    for (caller, list) in &lists {
        let cursor = first_cursor(&api, *caller, list).await;
        let separator = if list.contains('?') { '&' } else { '?' };
        let own = caller.call(&api, Method::GET, &format!("{list}{separator}cursor={cursor}"), None).await;
        assert_eq!(own.status, 200, "the cursor of {list} works on its own list: {own:?}");
        cursors.push(cursor);
    }
    let [messages, customer_sessions, rooms, participants, queue] = &cursors[..] else { unreachable!() };
    let misuses: Vec<(Caller, String, &String)> = vec![
        (Caller::CustomerA, format!("/chat/messages/{}", w.second), messages),
        (Caller::CustomerA, participants_of_s.clone(), messages),
        (Caller::CustomerB, "/chat/sessions".to_owned(), customer_sessions),
        (Caller::Admin, "/chat/sessions?status=waiting".to_owned(), customer_sessions),
        (Caller::CustomerA, "/chat/sessions".to_owned(), rooms),
        (Caller::CustomerA, messages_of_s.clone(), rooms),
        (Caller::CustomerA, messages_of_s.clone(), participants),
        (Caller::Admin, "/chat/rooms".to_owned(), participants),
        (Caller::Admin, "/chat/sessions?status=active".to_owned(), queue),
        (Caller::Admin, "/chat/sessions?status=closed".to_owned(), queue),
        (Caller::CustomerB, "/chat/sessions".to_owned(), queue),
    ];
    let mut wrong = Vec::new();
    for (caller, list, cursor) in misuses {
        let separator = if list.contains('?') { '&' } else { '?' };
        let path = format!("{list}{separator}cursor={cursor}");
        api.store.reset();

        // Act
        let reply = caller.call(&api, Method::GET, &path, None).await;

        // Assert
        if reply.status != 400
            || reply.error_code() != "invalid_cursor"
            || error_shape_problem(&reply).is_some()
        {
            let cursor = cursors.iter().position(|c| c == cursor).map(|i| &lists[i].1);
            wrong.push(format!(
                "  {caller:?} GET {} with the cursor of {}: got {} {}",
                w.name_ids(&list),
                w.name_ids(cursor.map(String::as_str).unwrap_or("?")),
                reply.status,
                reply.body
            ));
        }
    }
    assert!(wrong.is_empty(), "cursors were taken by lists they do not belong to:\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn an_unknown_session_status_is_400_invalid_status() {
    expect_refusals(|_| {
        let mut cases = Vec::new();
        for caller in [Caller::CustomerA, Caller::AgentX, Caller::Admin] {
            for status in ["open", "WAITING", "all", "waiting,active", "%00"] {
                let request = Request::new(caller, Method::GET, format!("/chat/sessions?status={status}"));
                cases.push(refused(request, 400, "invalid_status"));
            }
        }
        cases
    })
    .await;
}

#[tokio::test]
async fn a_malformed_after_or_an_unknown_order_is_400() {
    expect_refusals(|w| {
        let list = format!("/chat/messages/{}", w.assigned);
        let mut cases = Vec::new();
        for query in [
            "after=garbage",
            "after=01JD",
            "after=01JD000000000000000000000U",
            "order=sideways",
            "order=ASC",
            "order=%00",
        ] {
            let request = Request::new(Caller::CustomerA, Method::GET, format!("{list}?{query}"));
            cases.push(Refusal { request, status: 400, code: None });
        }
        cases
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_routes_are_404_route_not_found() {
    expect_refusals(|w| {
        [
            "/chat/session".to_owned(),
            "/chat".to_owned(),
            "/".to_owned(),
            format!("/chat/sessions/{}/nope", w.assigned),
            format!("/chat/messages/{}/{}/extra", w.assigned, w.customer_message),
            "/chat/users/cust-bob".to_owned(),
        ]
        .into_iter()
        .map(|path| refused(Request::new(Caller::Admin, Method::GET, path), 404, "route_not_found"))
        .collect()
    })
    .await;
}

#[tokio::test]
async fn a_known_path_with_another_method_is_405() {
    expect_refusals(|w| {
        [
            (Method::DELETE, "/chat/sessions".to_owned()),
            (Method::PUT, format!("/chat/sessions/{}", w.assigned)),
            (Method::GET, "/chat/messages".to_owned()),
            (Method::POST, format!("/chat/messages/{}", w.assigned)),
            (Method::PATCH, "/chat/rooms".to_owned()),
            (Method::GET, "/chat/users/cust-bob/block".to_owned()),
            (Method::GET, format!("/admin/chat-dashboard/sessions/{}/assign", w.other)),
        ]
        .into_iter()
        .map(|(method, path)| Refusal {
            request: Request::new(Caller::Admin, method, path),
            status: 405,
            code: None,
        })
        .collect()
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// No input makes the server fail
// ---------------------------------------------------------------------------------------------

/// Bodies no endpoint should take, nor fail on.
fn hostile_bodies() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = [
        "null",
        "[]",
        "[{}]",
        "[{\"subject\": \"x\"}]",
        "\"a string\"",
        "0",
        "true",
        "{\"subject\": 1e999}",
        "{\"subject\": 123456789012345678901234567890}",
        "{\"session_id\": 18446744073709551616, \"body\": -1e308}",
        "{\"priority\": -0.0, \"subject\": \"x\"}",
        "{\"subject\": null, \"priority\": null, \"room_id\": null}",
        "{\"session_id\": null, \"body\": null, \"client_message_id\": null}",
        "{\"message_id\": null}",
        "{\"name\": null, \"description\": null}",
        "{\"reason\": null}",
        "{\"agent_id\": null}",
        "{\"subject\": \"a\", \"subject\": \"b\"}",
        "{\"__proto__\": {\"role\": \"admin\"}}",
        "{\"\\u0000\": 1}",
        "{\"subject\": \"\\ud800\"}",
        "{\"subject\": \"\\udfff\\ud800\"}",
        "{\"subject\": \"\\u0000\"}",
        "{\"subject\": \"\\u202e\\u200b\\ufeff\"}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    bodies.push(format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes());
    bodies.push(format!("{{\"subject\": {}1{}}}", "{\"a\":".repeat(3000), "}".repeat(3000)).into_bytes());
    bodies.push(format!("{{\"{}\": 1}}", "k".repeat(100_000)).into_bytes());
    let many_keys: Vec<String> = (0..10_000).map(|i| format!("\"k{i}\": {i}")).collect();
    bodies.push(format!("{{{}}}", many_keys.join(",")).into_bytes());
    bodies.extend([
        b"\xff\xfe\xfd".to_vec(),
        b"{\"subject\": \"\xc0\xaf\"}".to_vec(),
        b"{\"subject\": \"\xed\xa0\x80\"}".to_vec(),
        b"\x00".to_vec(),
    ]);
    bodies
}

/// Strings to put into each text and id field of an otherwise acceptable body.
fn hostile_strings() -> Vec<String> {
    vec![
        "\u{0}".to_owned(),
        "\u{202e}\u{200b}\u{feff}".to_owned(),
        "e\u{301}".repeat(2000),
        "🙂".repeat(4000),
        "x".repeat(100_000),
        "../../etc/passwd".to_owned(),
        "' OR 1=1 --".to_owned(),
        "<script>alert(1)</script>".to_owned(),
        "SESSION#x".to_owned(),
        "%00".to_owned(),
        String::new(),
    ]
}

/// Each acceptable body with one string field at a time replaced by `value`.
fn with_each_field(body: &Value, value: &str) -> Vec<Value> {
    let Some(fields) = body.as_object() else { return Vec::new() };
    let mut names: Vec<&String> = fields.keys().collect();
    let extra = ["agent_id".to_owned(), "client_message_id".to_owned(), "priority".to_owned()];
    names.extend(extra.iter().filter(|name| !fields.contains_key(*name)));
    names
        .into_iter()
        .map(|name| {
            let mut hostile = body.clone();
            hostile[name.as_str()] = Value::String(value.to_owned());
            hostile
        })
        .collect()
}

/// Path segments to put where an id goes.
const HOSTILE_SEGMENTS: [&str; 11] =
    ["%00", "..", "%2e%2e", "%2F", "%25", "%F0%9F%99%82", "%20", "%ff%fe", "%", "%zz", "'%20OR%201=1"];

/// Query strings for lists.
const HOSTILE_QUERIES: [&str; 9] = [
    "limit=%00",
    "cursor=%00",
    "status=%00",
    "after=%00",
    "order=%00",
    "limit=1&limit=0",
    "=&&=",
    "cursor=eyJwayI6eyJwayI6eyJwayI6e319fQ",
    "limit=1&cursor=%F0%9F%99%82",
];

#[tokio::test]
async fn no_hostile_input_makes_the_server_fail() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let w = world(&api).await;
    let mut requests: Vec<Request> = Vec::new();
    for endpoint in json_endpoints(&w) {
        for body in hostile_bodies() {
            requests.push(endpoint.clone().raw(body));
        }
        let Payload::Json(acceptable) = &endpoint.payload else { unreachable!("JSON endpoints carry JSON") };
        for value in hostile_strings() {
            for body in with_each_field(acceptable, &value) {
                requests.push(endpoint.clone().json(body));
            }
        }
    }
    for segment in HOSTILE_SEGMENTS {
        requests.extend(with_ulid_in_path(&w, segment));
        requests.extend(with_user_id_in_path(segment));
    }
    for list in lists(&w) {
        for query in HOSTILE_QUERIES {
            requests.push(list.clone().at(format!("{}?{query}", list.path)));
        }
    }
    let mut wrong = Vec::new();

    for request in &requests {
        // Act
        let reply = request.send(&api).await;

        // Assert
        if reply.status >= 500 {
            wrong.push(format!("  {}: got {} {}", request.describe(&w), reply.status, reply.body));
        } else if reply.status >= 400 {
            if let Some(problem) = error_shape_problem(&reply) {
                wrong.push(format!("  {}: {} {problem}", request.describe(&w), reply.status));
            }
        }
    }
    let still_up = Caller::CustomerA.call(&api, Method::GET, "/chat/rooms", None).await;
    assert!(
        wrong.is_empty(),
        "{} of {} hostile inputs were mishandled:\n{}",
        wrong.len(),
        requests.len(),
        wrong.join("\n")
    );
    assert_eq!(still_up.status, 200, "the server still answers after the sweep: {still_up:?}");
}

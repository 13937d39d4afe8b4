//! Who may do what: every endpoint for customers, agents and admins, on their own sessions and on
//! other people's, and the tokens the gateway refuses before any handler runs.
//!
//! Each matrix runs its refused cells on one shared world and checks afterwards that the admin
//! still sees exactly what was there before; each permitted cell runs on a world of its own, so
//! one success (a close, a delete) cannot change the answer of the next cell.

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::auth::TokenMinter;
use switchboard_shared::domain::Role;
use switchboard_tests::{Backend, Reply, TestApi, AUDIENCE, ISSUER, TEST_SECRET};

// ---------------------------------------------------------------------------------------------
// The world: two customers, two agents, an admin, an assigned session and a waiting one
// ---------------------------------------------------------------------------------------------

/// Everyone who calls in these tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// Owns the assigned session.
    CustomerA,
    /// Owns the waiting session; a stranger to customer A's.
    CustomerB,
    /// The agent customer A's session is assigned to.
    AgentX,
    /// An agent with no session of their own.
    AgentY,
    /// Sees and steers everything, but takes part in nothing.
    Admin,
}

impl Caller {
    const ALL: [Caller; 5] =
        [Caller::CustomerA, Caller::CustomerB, Caller::AgentX, Caller::AgentY, Caller::Admin];

    fn id(self) -> &'static str {
        match self {
            Caller::CustomerA => "cust-ada",
            Caller::CustomerB => "cust-bob",
            Caller::AgentX => "agent-xena",
            Caller::AgentY => "agent-yuri",
            Caller::Admin => "admin-zoe",
        }
    }

    fn role(self) -> Role {
        match self {
            Caller::CustomerA | Caller::CustomerB => Role::Customer,
            Caller::AgentX | Caller::AgentY => Role::Agent,
            Caller::Admin => Role::Admin,
        }
    }

    async fn call(self, api: &TestApi, method: Method, path: &str, body: Option<Value>) -> Reply {
        api.as_user(self.id(), self.role(), method, path, body).await
    }
}

/// What every matrix starts from.
struct World {
    /// Customer A's session, assigned to agent X (active).
    assigned: String,
    /// Customer A's message in `assigned`.
    customer_message: String,
    /// Agent X's message in `assigned`.
    agent_message: String,
    /// Customer B's session, waiting in the queue.
    waiting: String,
    /// Customer B's message in `waiting`.
    waiting_message: String,
}

impl World {
    /// A path with the world's ids replaced by names, for failure messages.
    fn name_ids(&self, path: &str) -> String {
        [
            (&self.assigned, "{A's assigned session}"),
            (&self.customer_message, "{A's message}"),
            (&self.agent_message, "{X's message}"),
            (&self.waiting, "{B's waiting session}"),
            (&self.waiting_message, "{B's message}"),
        ]
        .iter()
        .fold(path.to_owned(), |path, (id, name)| path.replace(id.as_str(), name))
    }
}

fn arranged(reply: Reply, status: u16, what: &str) -> Reply {
    assert_eq!(reply.status, status, "arranging the world: {what}: {reply:?}");
    reply
}

fn id_of(reply: &Reply) -> String {
    reply.body["id"].as_str().unwrap_or_else(|| panic!("a reply with an id: {reply:?}")).to_owned()
}

async fn open_session(api: &TestApi, customer: Caller, subject: &str) -> String {
    let reply = customer.call(api, Method::POST, "/chat/sessions", Some(json!({"subject": subject}))).await;
    id_of(&arranged(reply, 201, "a customer opens a session"))
}

async fn send(api: &TestApi, sender: Caller, session: &str, body: &str) -> String {
    let reply = sender
        .call(api, Method::POST, "/chat/messages", Some(json!({"session_id": session, "body": body})))
        .await;
    id_of(&arranged(reply, 201, "a participant sends a message"))
}

async fn world(api: &TestApi) -> World {
    let assigned = open_session(api, Caller::CustomerA, "my parcel is late").await;
    let take = format!("/admin/chat-dashboard/sessions/{assigned}/assign");
    arranged(Caller::AgentX.call(api, Method::POST, &take, Some(json!({}))).await, 200, "agent X takes it");
    let customer_message = send(api, Caller::CustomerA, &assigned, "where is it?").await;
    let agent_message = send(api, Caller::AgentX, &assigned, "let me check").await;
    let waiting = open_session(api, Caller::CustomerB, "I want a refund").await;
    let waiting_message = send(api, Caller::CustomerB, &waiting, "anyone there?").await;
    World { assigned, customer_message, agent_message, waiting, waiting_message }
}

/// Everything an admin can see of the world (reads only).
async fn snapshot(api: &TestApi, world: &World) -> Vec<Value> {
    let mut paths: Vec<String> = ["waiting", "active", "closed"]
        .iter()
        .map(|status| format!("/chat/sessions?status={status}&limit=200"))
        .chain(["/chat/rooms?limit=200".to_owned()])
        .collect();
    for session in [&world.assigned, &world.waiting] {
        paths.push(format!("/chat/sessions/{session}"));
        paths.push(format!("/chat/sessions/{session}/participants?limit=200"));
        paths.push(format!("/chat/messages/{session}?limit=200"));
    }
    let mut seen = Vec::new();
    for path in paths {
        let reply = Caller::Admin.call(api, Method::GET, &path, None).await;
        assert_eq!(reply.status, 200, "the admin reads {path}: {reply:?}");
        seen.push(json!({"path": path, "body": reply.body}));
    }
    seen
}

// ---------------------------------------------------------------------------------------------
// Matrices: one cell per (endpoint, resource, caller)
// ---------------------------------------------------------------------------------------------

/// One request and the answer it must get.
struct Cell {
    caller: Caller,
    method: Method,
    path: String,
    body: Option<Value>,
    status: u16,
    code: Option<&'static str>,
}

impl Cell {
    fn new(caller: Caller, method: Method, path: impl Into<String>) -> Self {
        Self { caller, method, path: path.into(), body: None, status: 0, code: None }
    }

    fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn allowed(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    fn refused(mut self, status: u16, code: &'static str) -> Self {
        self.status = status;
        self.code = Some(code);
        self
    }

    fn is_allowed(&self) -> bool {
        self.status < 300
    }

    async fn run(&self, api: &TestApi) -> Reply {
        self.caller.call(api, self.method.clone(), &self.path, self.body.clone()).await
    }

    fn describe(&self, world: &World) -> String {
        format!("{:?} {} {}", self.caller, self.method, world.name_ids(&self.path))
    }

    /// What is wrong with a reply to this cell, if anything.
    fn mismatch(&self, reply: &Reply) -> Option<String> {
        let expected = match self.code {
            Some(code) => format!("{} {code}", self.status),
            None => self.status.to_string(),
        };
        let wrong = || Some(format!("expected {expected}, got {} {}", reply.status, reply.body));
        if reply.status != self.status {
            return wrong();
        }
        if let Some(code) = self.code {
            if reply.error_code() != code || !reply.body["error"]["message"].is_string() {
                return wrong();
            }
        }
        None
    }
}

/// Runs every cell of `table`; refused cells must leave the shared world as it was.
async fn check_matrix(table: fn(&World) -> Vec<Cell>) {
    let api = TestApi::start(Backend::Sqlite).await;
    let shared = world(&api).await;
    let cells = table(&shared);
    let before = snapshot(&api, &shared).await;
    let mut wrong = Vec::new();
    for (index, cell) in cells.iter().enumerate() {
        let (description, problem) = if cell.is_allowed() {
            let own_api = TestApi::start(Backend::Sqlite).await;
            let own_world = world(&own_api).await;
            let own_cell = &table(&own_world)[index];
            (own_cell.describe(&own_world), own_cell.mismatch(&own_cell.run(&own_api).await))
        } else {
            (cell.describe(&shared), cell.mismatch(&cell.run(&api).await))
        };
        if let Some(problem) = problem {
            wrong.push(format!("  {description}: {problem}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cells answered wrongly:\n{}",
        wrong.len(),
        cells.len(),
        wrong.join("\n")
    );
    assert_eq!(snapshot(&api, &shared).await, before, "a refused request changed what the admin sees");
}

/// Who may see each session: its customer, its agent (or any agent while it waits), any admin.
fn can_see(world: &World, session: &str, caller: Caller) -> bool {
    let assigned = session == world.assigned.as_str();
    match caller {
        Caller::CustomerA => assigned,
        // B owns the waiting session; agent Y sees it in the queue, but not X's active session.
        Caller::CustomerB | Caller::AgentY => !assigned,
        // X is assigned one session and sees the other in the queue; admins see everything.
        Caller::AgentX | Caller::Admin => true,
    }
}

#[tokio::test]
async fn sessions_participants_and_messages_are_read_only_by_those_who_may_see_the_session() {
    check_matrix(|w| {
        let mut cells = Vec::new();
        for session in [&w.assigned, &w.waiting] {
            for path in [
                format!("/chat/sessions/{session}"),
                format!("/chat/sessions/{session}/participants"),
                format!("/chat/messages/{session}"),
            ] {
                for caller in Caller::ALL {
                    let cell = Cell::new(caller, Method::GET, path.clone());
                    cells.push(if can_see(w, session, caller) {
                        cell.allowed(200)
                    } else {
                        cell.refused(404, "session_not_found")
                    });
                }
            }
        }
        cells
    })
    .await;
}

#[tokio::test]
async fn only_a_sessions_customer_and_assigned_agent_send_messages_to_it() {
    check_matrix(|w| {
        let send = |caller, session: &str| {
            Cell::new(caller, Method::POST, "/chat/messages")
                .with_body(json!({"session_id": session, "body": "hello from the matrix"}))
        };
        vec![
            send(Caller::CustomerA, &w.assigned).allowed(201),
            send(Caller::AgentX, &w.assigned).allowed(201),
            send(Caller::CustomerB, &w.assigned).refused(404, "session_not_found"),
            send(Caller::AgentY, &w.assigned).refused(404, "session_not_found"),
            send(Caller::Admin, &w.assigned).refused(403, "not_a_participant"),
            send(Caller::CustomerB, &w.waiting).allowed(201),
            send(Caller::CustomerA, &w.waiting).refused(404, "session_not_found"),
            send(Caller::AgentX, &w.waiting).refused(403, "not_a_participant"),
            send(Caller::AgentY, &w.waiting).refused(403, "not_a_participant"),
            send(Caller::Admin, &w.waiting).refused(403, "not_a_participant"),
        ]
    })
    .await;
}

/// The cells of editing or deleting each message of the world: the sender may, callers who see
/// the session may not (403), callers who do not see it get 404.
fn sender_only_cells(w: &World, method: Method, body: Option<Value>, allowed: u16) -> Vec<Cell> {
    let messages = [
        (&w.assigned, &w.customer_message, Caller::CustomerA),
        (&w.assigned, &w.agent_message, Caller::AgentX),
        (&w.waiting, &w.waiting_message, Caller::CustomerB),
    ];
    let mut cells = Vec::new();
    for (session, message, sender) in messages {
        for caller in Caller::ALL {
            let mut cell = Cell::new(caller, method.clone(), format!("/chat/messages/{session}/{message}"));
            if let Some(body) = &body {
                cell = cell.with_body(body.clone());
            }
            cells.push(if caller == sender {
                cell.allowed(allowed)
            } else if can_see(w, session, caller) {
                cell.refused(403, "not_message_sender")
            } else {
                cell.refused(404, "session_not_found")
            });
        }
    }
    cells
}

#[tokio::test]
async fn only_the_sender_edits_a_message() {
    check_matrix(|w| sender_only_cells(w, Method::PATCH, Some(json!({"body": "edited by someone"})), 200))
        .await;
}

#[tokio::test]
async fn only_the_sender_deletes_a_message() {
    check_matrix(|w| sender_only_cells(w, Method::DELETE, None, 200)).await;
}

#[tokio::test]
async fn read_markers_move_only_for_callers_who_may_see_the_session() {
    check_matrix(|w| {
        let mut cells = Vec::new();
        for (session, message) in [(&w.assigned, &w.agent_message), (&w.waiting, &w.waiting_message)] {
            for caller in Caller::ALL {
                let cell = Cell::new(caller, Method::POST, format!("/chat/sessions/{session}/read"))
                    .with_body(json!({"message_id": message}));
                cells.push(if can_see(w, session, caller) {
                    cell.allowed(200)
                } else {
                    cell.refused(404, "session_not_found")
                });
            }
        }
        cells
    })
    .await;
}

#[tokio::test]
async fn a_session_is_closed_only_by_its_customer_its_agent_or_an_admin() {
    check_matrix(|w| {
        let close = |caller, session: &str| {
            Cell::new(caller, Method::POST, format!("/chat/sessions/{session}/close"))
        };
        vec![
            close(Caller::CustomerA, &w.assigned).allowed(200),
            close(Caller::AgentX, &w.assigned).allowed(200),
            close(Caller::Admin, &w.assigned).allowed(200),
            close(Caller::CustomerB, &w.assigned).refused(404, "session_not_found"),
            close(Caller::AgentY, &w.assigned).refused(404, "session_not_found"),
            close(Caller::CustomerB, &w.waiting).allowed(200),
            close(Caller::Admin, &w.waiting).allowed(200),
            close(Caller::CustomerA, &w.waiting).refused(404, "session_not_found"),
            close(Caller::AgentX, &w.waiting).refused(403, "forbidden"),
            close(Caller::AgentY, &w.waiting).refused(403, "forbidden"),
        ]
    })
    .await;
}

#[tokio::test]
async fn only_customers_open_sessions() {
    check_matrix(|_| {
        Caller::ALL
            .into_iter()
            .map(|caller| {
                let cell = Cell::new(caller, Method::POST, "/chat/sessions")
                    .with_body(json!({"subject": "a question", "priority": "high"}));
                match caller.role() {
                    Role::Customer => cell.allowed(201),
                    Role::Agent | Role::Admin => cell.refused(403, "forbidden"),
                }
            })
            .collect()
    })
    .await;
}

#[tokio::test]
async fn only_agents_and_admins_block_and_unblock_users() {
    check_matrix(|_| {
        let mut cells = Vec::new();
        for action in ["block", "unblock"] {
            for caller in Caller::ALL {
                let mut cell = Cell::new(
                    caller,
                    Method::POST,
                    format!("/chat/users/{}/{action}", Caller::CustomerB.id()),
                );
                if action == "block" {
                    cell = cell.with_body(json!({"reason": "abusive language"}));
                }
                cells.push(match caller.role() {
                    Role::Customer => cell.refused(403, "forbidden"),
                    Role::Agent | Role::Admin => cell.allowed(200),
                });
            }
        }
        cells
    })
    .await;
}

#[tokio::test]
async fn a_block_refused_to_a_customer_leaves_the_user_unblocked() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let block = format!("/chat/users/{}/block", Caller::CustomerB.id());

    // Act
    let refused =
        Caller::CustomerA.call(&api, Method::POST, &block, Some(json!({"reason": "I say so"}))).await;

    // Assert: blocking now makes a new block by the admin, not the customer's.
    assert_eq!(refused.status, 403, "{refused:?}");
    let block_now = Caller::Admin.call(&api, Method::POST, &block, Some(json!({}))).await;
    assert_eq!(block_now.status, 200, "{block_now:?}");
    assert_eq!(block_now.body["blocked_by"], Caller::Admin.id(), "{block_now:?}");
}

#[tokio::test]
async fn an_unblock_refused_to_a_customer_leaves_the_block_in_place() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let user = Caller::CustomerB.id();
    let blocked = Caller::AgentX
        .call(&api, Method::POST, &format!("/chat/users/{user}/block"), Some(json!({"reason": "spam"})))
        .await;
    assert_eq!(blocked.status, 200, "{blocked:?}");

    // Act
    let refused =
        Caller::CustomerB.call(&api, Method::POST, &format!("/chat/users/{user}/unblock"), None).await;

    // Assert: the blocked customer still cannot open a session.
    assert_eq!(refused.status, 403, "{refused:?}");
    let attempt = Caller::CustomerB
        .call(&api, Method::POST, "/chat/sessions", Some(json!({"subject": "let me in"})))
        .await;
    assert_eq!((attempt.status, attempt.error_code()), (403, "user_blocked"), "{attempt:?}");
}

#[tokio::test]
async fn everyone_lists_rooms_but_only_admins_create_them() {
    check_matrix(|_| {
        let mut cells = Vec::new();
        for caller in Caller::ALL {
            cells.push(Cell::new(caller, Method::GET, "/chat/rooms").allowed(200));
            let create = Cell::new(caller, Method::POST, "/chat/rooms")
                .with_body(json!({"name": "billing", "description": "money matters"}));
            cells.push(match caller.role() {
                Role::Admin => create.allowed(201),
                Role::Customer | Role::Agent => create.refused(403, "forbidden"),
            });
        }
        cells
    })
    .await;
}

#[tokio::test]
async fn sessions_are_assigned_by_agents_to_themselves_and_by_admins_to_a_named_agent() {
    check_matrix(|w| {
        let assign = |caller, session: &str, body: Value| {
            Cell::new(caller, Method::POST, format!("/admin/chat-dashboard/sessions/{session}/assign"))
                .with_body(body)
        };
        let agent_x = json!({"agent_id": Caller::AgentX.id()});
        let agent_y = json!({"agent_id": Caller::AgentY.id()});
        vec![
            assign(Caller::CustomerA, &w.waiting, json!({})).refused(403, "forbidden"),
            assign(Caller::CustomerB, &w.waiting, json!({})).refused(403, "forbidden"),
            assign(Caller::CustomerB, &w.waiting, agent_x.clone()).refused(403, "forbidden"),
            assign(Caller::AgentX, &w.waiting, json!({})).allowed(200),
            assign(Caller::AgentY, &w.waiting, agent_y.clone()).allowed(200),
            assign(Caller::AgentY, &w.waiting, agent_x.clone()).refused(403, "forbidden"),
            assign(Caller::Admin, &w.waiting, agent_y.clone()).allowed(200),
            assign(Caller::Admin, &w.waiting, json!({})).refused(422, "validation_failed"),
            assign(Caller::CustomerA, &w.assigned, json!({})).refused(403, "forbidden"),
            // Another agent's session: the taker learns it is taken, not that it does not exist.
            assign(Caller::AgentY, &w.assigned, json!({})).refused(409, "session_not_waiting"),
            assign(Caller::AgentX, &w.assigned, json!({})).refused(409, "session_not_waiting"),
            assign(Caller::Admin, &w.assigned, agent_y).refused(409, "session_not_waiting"),
        ]
    })
    .await;
}

#[tokio::test]
async fn session_lists_hold_only_the_sessions_the_caller_may_see() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let w = world(&api).await;
    let cases: [(Caller, &str, Vec<&String>); 11] = [
        (Caller::CustomerA, "", vec![&w.assigned]),
        (Caller::CustomerA, "?status=waiting", vec![]),
        (Caller::CustomerB, "", vec![&w.waiting]),
        (Caller::CustomerB, "?status=active", vec![]),
        (Caller::AgentX, "", vec![&w.assigned]),
        (Caller::AgentY, "", vec![]),
        (Caller::AgentY, "?status=active", vec![]),
        (Caller::AgentY, "?status=closed", vec![]),
        (Caller::AgentY, "?status=waiting", vec![&w.waiting]),
        (Caller::Admin, "", vec![&w.assigned]),
        (Caller::Admin, "?status=waiting", vec![&w.waiting]),
    ];
    let mut wrong = Vec::new();
    for (caller, query, expected) in cases {
        // Act
        let reply = caller.call(&api, Method::GET, &format!("/chat/sessions{query}"), None).await;

        // Assert
        let ids: Vec<&str> =
            reply.body["items"].as_array().into_iter().flatten().filter_map(|s| s["id"].as_str()).collect();
        let expected: Vec<&str> = expected.iter().map(|id| id.as_str()).collect();
        if reply.status != 200 || ids != expected {
            wrong.push(format!(
                "  {caller:?} GET /chat/sessions{query}: expected 200 {:?}, got {} {:?}",
                expected.iter().map(|id| w.name_ids(id)).collect::<Vec<_>>(),
                reply.status,
                ids.iter().map(|id| w.name_ids(id)).collect::<Vec<_>>(),
            ));
        }
    }
    assert!(wrong.is_empty(), "lists showed the wrong sessions:\n{}", wrong.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Tokens the gateway refuses
// ---------------------------------------------------------------------------------------------

/// One request to each endpoint, by a caller it succeeds for when the token is good; in this
/// order each succeeds after the ones before it.
fn every_endpoint(w: &World) -> Vec<Cell> {
    let a_message = format!("/chat/messages/{}/{}", w.assigned, w.customer_message);
    let b_user = Caller::CustomerB.id();
    vec![
        Cell::new(Caller::CustomerA, Method::POST, "/chat/sessions")
            .with_body(json!({"subject": "another question"}))
            .allowed(201),
        Cell::new(Caller::CustomerA, Method::GET, "/chat/sessions").allowed(200),
        Cell::new(Caller::CustomerA, Method::GET, format!("/chat/sessions/{}", w.assigned)).allowed(200),
        Cell::new(Caller::CustomerA, Method::GET, format!("/chat/sessions/{}/participants", w.assigned))
            .allowed(200),
        Cell::new(Caller::CustomerA, Method::GET, format!("/chat/messages/{}", w.assigned)).allowed(200),
        Cell::new(Caller::CustomerA, Method::POST, "/chat/messages")
            .with_body(json!({"session_id": w.assigned, "body": "still there?"}))
            .allowed(201),
        Cell::new(Caller::CustomerA, Method::PATCH, a_message.clone())
            .with_body(json!({"body": "where is my parcel?"}))
            .allowed(200),
        Cell::new(Caller::CustomerA, Method::POST, format!("/chat/sessions/{}/read", w.assigned))
            .with_body(json!({"message_id": w.agent_message}))
            .allowed(200),
        Cell::new(Caller::AgentX, Method::POST, format!("/chat/users/{b_user}/block"))
            .with_body(json!({"reason": "spam"}))
            .allowed(200),
        Cell::new(Caller::AgentX, Method::POST, format!("/chat/users/{b_user}/unblock")).allowed(200),
        Cell::new(Caller::Admin, Method::GET, "/chat/rooms").allowed(200),
        Cell::new(Caller::Admin, Method::POST, "/chat/rooms")
            .with_body(json!({"name": "billing"}))
            .allowed(201),
        Cell::new(
            Caller::AgentY,
            Method::POST,
            format!("/admin/chat-dashboard/sessions/{}/assign", w.waiting),
        )
        .with_body(json!({}))
        .allowed(200),
        Cell::new(Caller::CustomerA, Method::DELETE, a_message).allowed(200),
        Cell::new(Caller::CustomerA, Method::POST, format!("/chat/sessions/{}/close", w.assigned))
            .allowed(200),
    ]
}

/// The kinds of token the gateway must refuse.
#[derive(Debug, Clone, Copy)]
enum BadToken {
    Missing,
    EmptyBearer,
    Garbage,
    NotBearerScheme,
    WrongSecret,
    WrongIssuer,
    WrongAudience,
    Expired,
    NoExpiry,
    AlgNone,
    TamperedRole,
    UnknownRole,
    MalformedSubject,
}

impl BadToken {
    const ALL: [BadToken; 13] = [
        BadToken::Missing,
        BadToken::EmptyBearer,
        BadToken::Garbage,
        BadToken::NotBearerScheme,
        BadToken::WrongSecret,
        BadToken::WrongIssuer,
        BadToken::WrongAudience,
        BadToken::Expired,
        BadToken::NoExpiry,
        BadToken::AlgNone,
        BadToken::TamperedRole,
        BadToken::UnknownRole,
        BadToken::MalformedSubject,
    ];

    /// The `Authorization` header to send, as `caller` would have it.
    fn header(self, caller: Caller) -> Option<String> {
        let minted = |secret: &str, issuer: &str, audience: &str| {
            TokenMinter::hs256(secret.as_bytes(), issuer, audience)
                .mint(caller.id(), caller.role(), None, 600)
                .expect("mint a token")
        };
        let good_claims = claims(caller.id(), caller.role().as_str(), 600);
        let token = match self {
            BadToken::Missing => return None,
            BadToken::EmptyBearer => return Some("Bearer ".to_owned()),
            BadToken::NotBearerScheme => {
                return Some(format!("Basic {}", minted(TEST_SECRET, ISSUER, AUDIENCE)));
            }
            BadToken::Garbage => "not-a-jwt".to_owned(),
            BadToken::WrongSecret => minted("another-secret-another-secret-!!!!", ISSUER, AUDIENCE),
            BadToken::WrongIssuer => minted(TEST_SECRET, "someone-else", AUDIENCE),
            BadToken::WrongAudience => minted(TEST_SECRET, ISSUER, "another-api"),
            BadToken::Expired => hs256(&claims(caller.id(), caller.role().as_str(), -3600)),
            BadToken::NoExpiry => {
                let mut claims = good_claims;
                claims.as_object_mut().expect("claims are an object").remove("exp");
                hs256(&claims)
            }
            BadToken::AlgNone => {
                let header = base64url(json!({"alg": "none", "typ": "JWT"}).to_string().as_bytes());
                format!("{header}.{}.", base64url(good_claims.to_string().as_bytes()))
            }
            BadToken::TamperedRole => {
                // A customer's genuine token with its claims swapped for an admin's.
                let genuine = hs256(&claims(caller.id(), "customer", 600));
                let forged = base64url(claims(caller.id(), "admin", 600).to_string().as_bytes());
                let parts: Vec<&str> = genuine.split('.').collect();
                format!("{}.{forged}.{}", parts[0], parts[2])
            }
            BadToken::UnknownRole => hs256(&claims(caller.id(), "root", 600)),
            BadToken::MalformedSubject => hs256(&claims("cust#ada", caller.role().as_str(), 600)),
        };
        Some(format!("Bearer {token}"))
    }
}

async fn call_with_header(
    api: &TestApi,
    method: Method,
    path: &str,
    authorization: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let mut request = api.client.request(method, format!("{}{path}", api.base));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("read the body");
    Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
}

#[tokio::test]
async fn every_endpoint_refuses_each_kind_of_bad_token_with_401_before_touching_the_store() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let w = world(&api).await;
    let endpoints = every_endpoint(&w);
    let mut wrong = Vec::new();

    for endpoint in &endpoints {
        for kind in BadToken::ALL {
            let header = kind.header(endpoint.caller);
            api.store.reset();

            // Act
            let reply = call_with_header(
                &api,
                endpoint.method.clone(),
                &endpoint.path,
                header.as_deref(),
                endpoint.body.as_ref(),
            )
            .await;

            // Assert
            let cell = format!("{kind:?} token, {}", endpoint.describe(&w));
            if reply.status != 401
                || reply.error_code() != "unauthorized"
                || !reply.body["error"]["message"].is_string()
            {
                wrong.push(format!(
                    "  {cell}: expected 401 unauthorized, got {} {}",
                    reply.status, reply.body
                ));
            }
            if api.store.total() != 0 {
                wrong.push(format!("  {cell}: the store was called: {:?}", api.store.calls()));
            }
        }
    }

    // The same requests with good tokens succeed, so the token alone was what failed them.
    for endpoint in &endpoints {
        let reply = endpoint.run(&api).await;
        if let Some(problem) = endpoint.mismatch(&reply) {
            wrong.push(format!("  good token, {}: {problem}", endpoint.describe(&w)));
        }
    }
    assert!(wrong.is_empty(), "bad tokens were not refused as they should be:\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn a_token_signed_here_with_good_claims_is_accepted() {
    // Arrange: the control for the hand-signed bad tokens above, so each is refused for its flaw.
    let api = TestApi::start(Backend::Sqlite).await;
    let token = hs256(&claims(Caller::AgentY.id(), "agent", 600));

    // Act
    let reply =
        call_with_header(&api, Method::GET, "/chat/rooms", Some(&format!("Bearer {token}")), None).await;

    // Assert
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn rest_endpoints_do_not_take_the_token_from_the_query_string() {
    // Arrange: `?token=` is for the WebSocket $connect; REST takes only the Authorization header
    // (and API Gateway refuses a REST call without it before the authorizer runs).
    let api = TestApi::start(Backend::Sqlite).await;
    let token = api.token(Caller::CustomerA.id(), Role::Customer);
    let body = json!({"subject": "token in the URL"});
    api.store.reset();

    // Act
    let reply =
        call_with_header(&api, Method::POST, &format!("/chat/sessions?token={token}"), None, Some(&body))
            .await;

    // Assert
    assert_eq!((reply.status, reply.error_code()), (401, "unauthorized"), "{reply:?}");
    assert_eq!(api.store.total(), 0, "the store was called: {:?}", api.store.calls());
}

// ---------------------------------------------------------------------------------------------
// Signing tokens by hand: the tests crate has no JWT library, and an expired or oddly-claimed
// token must carry a genuine signature, or it would be refused for its signature alone.
// ---------------------------------------------------------------------------------------------

/// Claims valid for `ttl_seconds` from now (negative: expired that long ago).
fn claims(sub: &str, role: &str, ttl_seconds: i64) -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("the clock is after 1970").as_secs() as i64;
    json!({"sub": sub, "role": role, "iat": now.min(now + ttl_seconds), "exp": now + ttl_seconds,
           "iss": ISSUER, "aud": AUDIENCE})
}

/// A JWT with `claims`, signed HS256 with the test gateway's secret.
fn hs256(claims: &Value) -> String {
    let header = base64url(json!({"alg": "HS256", "typ": "JWT"}).to_string().as_bytes());
    let signing_input = format!("{header}.{}", base64url(claims.to_string().as_bytes()));
    let signature = hmac_sha256(TEST_SECRET.as_bytes(), signing_input.as_bytes());
    format!("{signing_input}.{}", base64url(&signature))
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&sha256(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = sha256(&[pad(0x36), message.to_vec()].concat());
    sha256(&[pad(0x5c), inner.to_vec()].concat())
}

fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];
    let mut state: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut padded = data.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    for chunk in padded.chunks(64) {
        let mut w = [0u32; 64];
        for (word, bytes) in w.iter_mut().zip(chunk.chunks(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state;
        for (k, w) in K.iter().zip(w.iter()) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let choice = (e & f) ^ (!e & g);
            let t1 = h.wrapping_add(s1).wrapping_add(choice).wrapping_add(*k).wrapping_add(*w);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let majority = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(majority);
            (h, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
        }
        for (word, add) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *word = word.wrapping_add(add);
        }
    }
    let mut digest = [0u8; 32];
    for (bytes, word) in digest.chunks_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

#[test]
fn the_hand_written_sha256_and_base64url_match_published_vectors() {
    // FIPS 180-2 and RFC 4231 test case 2; RFC 4648 §10 (without padding).
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(hex(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(
        hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    let encoded: Vec<String> =
        ["f", "fo", "foo", "foob", "fooba", "foobar"].iter().map(|s| base64url(s.as_bytes())).collect();
    assert_eq!(encoded, ["Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"]);
    assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
}

//! Who may do what: every endpoint for customers, agents and admins, on their own sessions and on
//! other people's, and the tokens the gateway refuses before any handler runs.
//!
//! Each matrix runs its refused cells on one shared world and checks afterwards that the admin
//! still sees exactly what was there before; each permitted cell runs on a world of its own, so
//! one success (a close, a delete) cannot change the answer of the next cell.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::auth::TokenMinter;
use switchboard_shared::domain::Role;
use switchboard_tests::{
    arranged, assigned_session, id_of, open_session, send, snapshot, AssignedSession, Backend, Caller, Reply,
    TestApi, AUDIENCE, ISSUER, TEST_SECRET,
};

// ---------------------------------------------------------------------------------------------
// The world: two customers, two agents, an admin, an assigned session and a waiting one
// ---------------------------------------------------------------------------------------------

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
    /// Agent X's private note on `assigned`.
    note: String,
    /// Agent X's personal canned response.
    canned_personal: String,
    /// The admin's global canned response.
    canned_global: String,
    /// The admin's canned response for the world's room (which every agent serves: none has a
    /// floor state).
    canned_room: String,
}

impl World {
    /// The world's sessions, for [`snapshot`].
    fn sessions(&self) -> [&str; 2] {
        [&self.assigned, &self.waiting]
    }

    /// A path with the world's ids replaced by names, for failure messages.
    fn name_ids(&self, path: &str) -> String {
        [
            (&self.assigned, "{A's assigned session}"),
            (&self.customer_message, "{A's message}"),
            (&self.agent_message, "{X's message}"),
            (&self.waiting, "{B's waiting session}"),
            (&self.waiting_message, "{B's message}"),
            (&self.note, "{X's note}"),
            (&self.canned_personal, "{X's canned response}"),
            (&self.canned_global, "{global canned response}"),
            (&self.canned_room, "{room canned response}"),
        ]
        .iter()
        .fold(path.to_owned(), |path, (id, name)| path.replace(id.as_str(), name))
    }
}

/// Arranges the world: customer A's assigned session, then customer B's waiting one.
async fn world(api: &TestApi) -> World {
    let AssignedSession { session: assigned, customer_message, agent_message } = assigned_session(api).await;
    let waiting = open_session(api, Caller::CustomerB, "I want a refund").await;
    let waiting_message = send(api, Caller::CustomerB, &waiting, "anyone there?").await;
    let note = Caller::AgentX
        .call(
            api,
            Method::POST,
            &format!("/chat/sessions/{assigned}/notes"),
            Some(json!({"body": "asked the carrier"})),
        )
        .await;
    let note = id_of(&arranged(note, 201, "agent X notes the session"));
    let room = Caller::Admin.call(api, Method::POST, "/chat/rooms", Some(json!({"name": "parcels"}))).await;
    let room = id_of(&arranged(room, 201, "the admin creates a room"));
    let canned_personal = canned(api, Caller::AgentX, json!({"scope": "personal"})).await;
    let canned_global = canned(api, Caller::Admin, json!({"scope": "global"})).await;
    let canned_room = canned(api, Caller::Admin, json!({"scope": "room", "room_id": room})).await;
    World {
        assigned,
        customer_message,
        agent_message,
        waiting,
        waiting_message,
        note,
        canned_personal,
        canned_global,
        canned_room,
    }
}

/// A canned response's body in `scope`, shortcode `late-parcel`.
fn canned_body(mut scope: Value) -> Value {
    scope["shortcode"] = json!("late-parcel");
    scope["title"] = json!("Late parcel");
    scope["body"] = json!("Sorry, {{customer.name}}: the carrier is late.");
    scope
}

/// `author` writes a canned response in `scope`; returns its id.
async fn canned(api: &TestApi, author: Caller, scope: Value) -> String {
    let reply = author.call(api, Method::POST, "/agent/canned-responses", Some(canned_body(scope))).await;
    id_of(&arranged(reply, 201, "a canned response is written"))
}

/// What an admin sees beyond [`snapshot`]: the notes of the world's sessions and every canned
/// response.
async fn full_snapshot(api: &TestApi, world: &World) -> Vec<Value> {
    let mut seen = snapshot(api, &world.sessions()).await;
    let paths = [
        format!("/chat/sessions/{}/notes?limit=200", world.assigned),
        format!("/chat/sessions/{}/notes?limit=200", world.waiting),
        "/agent/canned-responses?limit=200".to_owned(),
    ];
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

    /// Allowed (200) if the caller may see `session`, else refused as if it did not exist.
    fn allowed_if_seen(self, world: &World, session: &str) -> Self {
        if can_see(world, session, self.caller) {
            self.allowed(200)
        } else {
            self.refused(404, "session_not_found")
        }
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
    let before = full_snapshot(&api, &shared).await;
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
    assert_eq!(full_snapshot(&api, &shared).await, before, "a refused request changed what the admin sees");
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
                    cells.push(Cell::new(caller, Method::GET, path.clone()).allowed_if_seen(w, session));
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
                cells.push(cell.allowed_if_seen(w, session));
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
async fn only_admins_set_another_agents_capacity_and_rooms() {
    check_matrix(|_| {
        let agent_y = format!("/admin/agents/{}", Caller::AgentY.id());
        let mut cells = Vec::new();
        for caller in Caller::ALL {
            let update = Cell::new(caller, Method::PATCH, agent_y.clone()).with_body(json!({"capacity": 10}));
            cells.push(match caller.role() {
                Role::Admin => update.allowed(200),
                Role::Customer | Role::Agent => update.refused(403, "forbidden"),
            });
        }
        cells.push(
            Cell::new(Caller::Admin, Method::PATCH, "/admin/agents/agent-never-seen")
                .with_body(json!({"capacity": 10}))
                .refused(404, "agent_not_found"),
        );
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
async fn notes_are_read_and_written_by_agents_who_may_read_the_session_and_admins_never_customers() {
    check_matrix(|w| {
        let mut cells = Vec::new();
        for session in [&w.assigned, &w.waiting] {
            let path = format!("/chat/sessions/{session}/notes");
            for caller in Caller::ALL {
                let read = Cell::new(caller, Method::GET, path.clone());
                let write = Cell::new(caller, Method::POST, path.clone())
                    .with_body(json!({"body": "from the matrix"}));
                // Agents read the queue's sessions, but the notes only of sessions they handled.
                let never_handled = caller.role() == Role::Agent && session == &w.waiting;
                for (cell, status, reads) in [(read, 200, true), (write, 201, false)] {
                    cells.push(match caller.role() {
                        Role::Customer => cell.refused(403, "forbidden"),
                        _ if reads && never_handled => cell.refused(403, "session_not_handled"),
                        _ if can_see(w, session, caller) => cell.allowed(status),
                        _ => cell.refused(404, "session_not_found"),
                    });
                }
            }
        }
        cells
    })
    .await;
}

#[tokio::test]
async fn a_sessions_priority_is_changed_only_by_its_agent_or_an_admin() {
    check_matrix(|w| {
        let patch = |caller, session: &str| {
            Cell::new(caller, Method::PATCH, format!("/chat/sessions/{session}"))
                .with_body(json!({"priority": "urgent"}))
        };
        vec![
            patch(Caller::AgentX, &w.assigned).allowed(200),
            patch(Caller::Admin, &w.assigned).allowed(200),
            patch(Caller::Admin, &w.waiting).allowed(200),
            patch(Caller::CustomerA, &w.assigned).refused(403, "forbidden"),
            patch(Caller::CustomerB, &w.waiting).refused(403, "forbidden"),
            patch(Caller::AgentY, &w.assigned).refused(404, "session_not_found"),
            patch(Caller::AgentX, &w.waiting).refused(403, "forbidden"),
            patch(Caller::AgentY, &w.waiting).refused(403, "forbidden"),
        ]
    })
    .await;
}

#[tokio::test]
async fn only_a_notes_author_edits_it() {
    check_matrix(|w| {
        Caller::ALL
            .into_iter()
            .map(|caller| {
                let cell = Cell::new(
                    caller,
                    Method::PATCH,
                    format!("/chat/sessions/{}/notes/{}", w.assigned, w.note),
                )
                .with_body(json!({"body": "rewritten by someone"}));
                match caller {
                    Caller::AgentX => cell.allowed(200),
                    Caller::CustomerA | Caller::CustomerB => cell.refused(403, "forbidden"),
                    Caller::AgentY => cell.refused(404, "session_not_found"),
                    Caller::Admin => cell.refused(403, "not_note_author"),
                }
            })
            .collect()
    })
    .await;
}

#[tokio::test]
async fn canned_responses_are_listed_and_written_by_agents_and_admins_global_ones_written_by_admins_only() {
    check_matrix(|_| {
        let mut cells = Vec::new();
        for caller in Caller::ALL {
            cells.push(match caller.role() {
                Role::Customer => Cell::new(caller, Method::GET, "/agent/canned-responses").refused(403, "forbidden"),
                _ => Cell::new(caller, Method::GET, "/agent/canned-responses").allowed(200),
            });
            for scope in ["personal", "global"] {
                let body = json!({"scope": scope, "shortcode": "matrix", "title": "Matrix", "body": "Hello {{customer.name}}"});
                let cell = Cell::new(caller, Method::POST, "/agent/canned-responses").with_body(body);
                cells.push(match (caller.role(), scope) {
                    (Role::Customer, _) | (Role::Agent, "global") => cell.refused(403, "forbidden"),
                    _ => cell.allowed(201),
                });
            }
        }
        cells
    })
    .await;
}

/// Who may do what to each canned response of the world: its author's personal one is hidden
/// from other agents (404), the global one is read-only to agents (403 on writes), the room
/// one is everyone's who serves the room; customers are refused everything (403).
fn canned_cells(w: &World, method: Method, suffix: &str, body: Option<Value>, allowed: u16) -> Vec<Cell> {
    let mut cells = Vec::new();
    let write = suffix.is_empty();
    for (id, kind) in
        [(&w.canned_personal, "personal"), (&w.canned_global, "global"), (&w.canned_room, "room")]
    {
        for caller in Caller::ALL {
            let mut cell = Cell::new(caller, method.clone(), format!("/agent/canned-responses/{id}{suffix}"));
            if let Some(body) = &body {
                cell = cell.with_body(body.clone());
            }
            cells.push(match (caller, kind) {
                (Caller::CustomerA | Caller::CustomerB, _) => cell.refused(403, "forbidden"),
                (Caller::AgentY, "personal") => cell.refused(404, "canned_response_not_found"),
                (Caller::AgentX | Caller::AgentY, "global") if write => cell.refused(403, "forbidden"),
                _ => cell.allowed(allowed),
            });
        }
    }
    cells
}

#[tokio::test]
async fn canned_responses_are_replaced_only_by_those_who_may_write_them() {
    check_matrix(|w| {
        let body = json!({"shortcode": "renamed", "title": "Renamed", "body": "Hi {{customer.name}}"});
        canned_cells(w, Method::PUT, "", Some(body), 200)
    })
    .await;
}

#[tokio::test]
async fn canned_responses_are_deleted_only_by_those_who_may_write_them() {
    check_matrix(|w| canned_cells(w, Method::DELETE, "", None, 204)).await;
}

#[tokio::test]
async fn canned_responses_are_rendered_by_everyone_who_may_read_them() {
    check_matrix(|w| {
        let body = json!({"session_id": w.waiting});
        canned_cells(w, Method::POST, "/render", Some(body), 200)
    })
    .await;
}

#[tokio::test]
async fn the_dashboard_is_read_by_agents_and_admins_and_its_reports_by_admins_only() {
    check_matrix(|w| {
        let mut cells = Vec::new();
        let staff = [
            "/admin/chat-dashboard/overview".to_owned(),
            "/admin/chat-dashboard/agent-performance".to_owned(),
            "/admin/chat-dashboard/active-sessions".to_owned(),
            "/admin/chat-dashboard/waiting-sessions".to_owned(),
        ];
        let admins = [
            "/admin/chat-dashboard/satisfaction".to_owned(),
            "/admin/chat-dashboard/message-analytics".to_owned(),
            "/admin/audit-log".to_owned(),
            format!("/admin/audit-log?session_id={}", w.assigned),
            format!("/admin/audit-log?actor={}", Caller::AgentX.id()),
            "/admin/reports/conversations.csv".to_owned(),
        ];
        for caller in Caller::ALL {
            for path in &staff {
                let cell = Cell::new(caller, Method::GET, path.clone());
                cells.push(match caller.role() {
                    Role::Customer => cell.refused(403, "forbidden"),
                    Role::Agent | Role::Admin => cell.allowed(200),
                });
            }
            for path in &admins {
                let cell = Cell::new(caller, Method::GET, path.clone());
                cells.push(match caller.role() {
                    Role::Customer | Role::Agent => cell.refused(403, "forbidden"),
                    Role::Admin => cell.allowed(200),
                });
            }
            cells.push(Cell::new(caller, Method::GET, "/admin/chat-dashboard/health").allowed(200));
        }
        cells
    })
    .await;
}

#[tokio::test]
async fn analytics_reports_and_backfills_are_for_admins_only() {
    check_matrix(|_| {
        let mut cells = Vec::new();
        let today = time::OffsetDateTime::now_utc().date();
        let day = format!("{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day());
        let unknown_job = "/admin/analytics/backfill/01JD00000000000000000000ZZ";
        for caller in Caller::ALL {
            let daily = Cell::new(caller, Method::GET, "/admin/reports/daily");
            let csv = Cell::new(caller, Method::GET, "/admin/reports/daily?format=csv");
            let backfill = Cell::new(caller, Method::POST, "/admin/analytics/backfill")
                .with_body(json!({"from": day, "to": day}));
            let job = Cell::new(caller, Method::GET, unknown_job);
            match caller.role() {
                Role::Customer | Role::Agent => cells.extend([
                    daily.refused(403, "forbidden"),
                    csv.refused(403, "forbidden"),
                    backfill.refused(403, "forbidden"),
                    job.refused(403, "forbidden"),
                ]),
                Role::Admin => cells.extend([
                    daily.allowed(200),
                    csv.allowed(200),
                    backfill.allowed(201),
                    job.refused(404, "backfill_not_found"),
                ]),
            }
        }
        cells
    })
    .await;
}

#[tokio::test]
async fn the_stored_pdf_reports_are_listed_and_downloaded_by_admins_only() {
    check_matrix(|_| {
        let mut cells = Vec::new();
        for caller in Caller::ALL {
            let list = Cell::new(caller, Method::GET, "/admin/reports");
            // No report is built in this world: an admin gets past the role check to the 404.
            let download = Cell::new(caller, Method::GET, "/admin/reports/daily-2026-01-01/download");
            match caller.role() {
                Role::Customer | Role::Agent => {
                    cells.extend([list.refused(403, "forbidden"), download.refused(403, "forbidden")])
                }
                Role::Admin => cells.extend([list.allowed(200), download.refused(404, "report_not_found")]),
            }
        }
        cells
    })
    .await;
}

#[tokio::test]
async fn agents_see_only_their_own_figures_and_active_sessions() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let w = world(&api).await;

    // Act
    let x_active =
        Caller::AgentX.call(&api, Method::GET, "/admin/chat-dashboard/active-sessions", None).await;
    let y_active =
        Caller::AgentY.call(&api, Method::GET, "/admin/chat-dashboard/active-sessions", None).await;
    let y_figures =
        Caller::AgentY.call(&api, Method::GET, "/admin/chat-dashboard/agent-performance", None).await;

    // Assert
    let ids = |reply: &Reply| -> Vec<Value> {
        reply.body["items"].as_array().into_iter().flatten().map(|s| s["id"].clone()).collect()
    };
    assert_eq!(ids(&x_active), [json!(w.assigned)], "{x_active:?}");
    assert_eq!(ids(&y_active), Vec::<Value>::new(), "Y serves nothing: {y_active:?}");
    let agents: Vec<&Value> =
        y_figures.body["agents"].as_array().into_iter().flatten().map(|a| &a["agent_id"]).collect();
    assert_eq!(agents, [&json!(Caller::AgentY.id())], "Y sees only Y, though X was assigned: {y_figures:?}");
}

#[tokio::test]
async fn the_health_probe_is_public_whatever_token_comes_with_it() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let mut wrong = Vec::new();
    for kind in BadToken::ALL {
        let header = kind.header(Caller::CustomerA);

        // Act
        let reply =
            api.call_with_header(Method::GET, "/admin/chat-dashboard/health", header.as_deref(), None).await;

        // Assert
        if reply.status != 200 || reply.body["status"] != "ok" {
            wrong.push(format!("  {kind:?} token: {} {}", reply.status, reply.body));
        }
    }
    assert!(wrong.is_empty(), "the health probe judged the token:\n{}", wrong.join("\n"));
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
        Cell::new(Caller::AgentX, Method::PATCH, format!("/chat/sessions/{}", w.assigned))
            .with_body(json!({"priority": "high"}))
            .allowed(200),
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
        Cell::new(Caller::AgentX, Method::GET, "/chat/users/blocked").allowed(200),
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
        Cell::new(Caller::Admin, Method::PATCH, format!("/admin/agents/{}", Caller::AgentY.id()))
            .with_body(json!({"capacity": 10}))
            .allowed(200),
        Cell::new(Caller::CustomerA, Method::GET, "/notifications/preferences").allowed(200),
        Cell::new(Caller::Admin, Method::POST, "/notifications/send")
            .with_body(json!({"user_id": "cust-ada", "title": "Hello", "body": "A test"}))
            .allowed(200),
        Cell::new(Caller::Admin, Method::POST, "/notifications/bulk-send")
            .with_body(json!({"user_ids": ["cust-ada", "cust-bob"], "title": "Hello", "body": "A test"}))
            .allowed(202),
        Cell::new(Caller::CustomerA, Method::GET, "/notifications/delivery-logs").allowed(200),
        Cell::new(Caller::CustomerA, Method::POST, "/notifications/devices/register")
            .with_body(json!({"token": "fcm-token-a", "platform": "android"}))
            .allowed(200),
        Cell::new(Caller::CustomerA, Method::POST, "/notifications/devices/unregister")
            .with_body(json!({"token": "fcm-token-a"}))
            .allowed(200),
        Cell::new(Caller::AgentX, Method::PUT, "/notifications/preferences")
            .with_body(json!({"announcement": false}))
            .allowed(200),
        Cell::new(Caller::AgentX, Method::GET, "/admin/chat-dashboard/overview").allowed(200),
        Cell::new(Caller::AgentX, Method::GET, "/admin/chat-dashboard/agent-performance").allowed(200),
        Cell::new(Caller::AgentX, Method::GET, "/admin/chat-dashboard/active-sessions").allowed(200),
        Cell::new(Caller::AgentX, Method::GET, "/admin/chat-dashboard/waiting-sessions").allowed(200),
        Cell::new(Caller::Admin, Method::GET, "/admin/chat-dashboard/satisfaction").allowed(200),
        Cell::new(Caller::Admin, Method::GET, "/admin/chat-dashboard/message-analytics").allowed(200),
        Cell::new(Caller::Admin, Method::GET, "/admin/audit-log").allowed(200),
        Cell::new(Caller::Admin, Method::GET, "/admin/reports/daily").allowed(200),
        Cell::new(Caller::Admin, Method::POST, "/admin/analytics/backfill")
            .with_body(json!({"from": "2026-01-01", "to": "2026-01-01"}))
            .allowed(201),
        Cell::new(Caller::Admin, Method::GET, "/admin/analytics/backfill/01JD00000000000000000000ZZ")
            .refused(404, "backfill_not_found"),
        Cell::new(Caller::Admin, Method::GET, "/admin/reports").allowed(200),
        Cell::new(Caller::Admin, Method::GET, "/admin/reports/daily-2026-01-01/download")
            .refused(404, "report_not_found"),
        Cell::new(Caller::Admin, Method::GET, "/admin/reports/conversations.csv").allowed(200),
        Cell::new(Caller::AgentX, Method::GET, format!("/chat/sessions/{}/notes", w.assigned)).allowed(200),
        Cell::new(Caller::AgentX, Method::POST, format!("/chat/sessions/{}/notes", w.assigned))
            .with_body(json!({"body": "called the carrier"}))
            .allowed(201),
        Cell::new(Caller::AgentX, Method::PATCH, format!("/chat/sessions/{}/notes/{}", w.assigned, w.note))
            .with_body(json!({"body": "asked the carrier twice"}))
            .allowed(200),
        Cell::new(Caller::AgentX, Method::GET, "/agent/canned-responses").allowed(200),
        Cell::new(Caller::AgentX, Method::POST, "/agent/canned-responses")
            .with_body(
                json!({"scope": "personal", "shortcode": "greeting", "title": "Hello", "body": "Hello!"}),
            )
            .allowed(201),
        Cell::new(Caller::AgentX, Method::PUT, format!("/agent/canned-responses/{}", w.canned_personal))
            .with_body(
                json!({"shortcode": "late", "title": "Late", "body": "It is late, {{customer.name}}."}),
            )
            .allowed(200),
        Cell::new(
            Caller::AgentX,
            Method::POST,
            format!("/agent/canned-responses/{}/render", w.canned_personal),
        )
        .with_body(json!({"session_id": w.assigned}))
        .allowed(200),
        Cell::new(Caller::AgentX, Method::DELETE, format!("/agent/canned-responses/{}", w.canned_personal))
            .allowed(204),
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
                format!("{}.{}.", segment(&json!({"alg": "none", "typ": "JWT"})), segment(&good_claims))
            }
            BadToken::TamperedRole => {
                // A customer's genuine token with its claims swapped for an admin's.
                let genuine = hs256(&claims(caller.id(), "customer", 600));
                let forged = segment(&claims(caller.id(), "admin", 600));
                let parts: Vec<&str> = genuine.split('.').collect();
                format!("{}.{forged}.{}", parts[0], parts[2])
            }
            BadToken::UnknownRole => hs256(&claims(caller.id(), "root", 600)),
            BadToken::MalformedSubject => hs256(&claims("cust#ada", caller.role().as_str(), 600)),
        };
        Some(format!("Bearer {token}"))
    }
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
            let reply = api
                .call_with_header(
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
    // Arrange: the control for the bad tokens signed here above, so each is refused for its flaw.
    let api = TestApi::start(Backend::Sqlite).await;
    let token = hs256(&claims(Caller::AgentY.id(), "agent", 600));

    // Act
    let reply =
        api.call_with_header(Method::GET, "/chat/rooms", Some(&format!("Bearer {token}")), None).await;

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
        api.call_with_header(Method::POST, &format!("/chat/sessions?token={token}"), None, Some(&body)).await;

    // Assert
    assert_eq!((reply.status, reply.error_code()), (401, "unauthorized"), "{reply:?}");
    assert_eq!(api.store.total(), 0, "the store was called: {:?}", api.store.calls());
}

// ---------------------------------------------------------------------------------------------
// Tokens signed here: an expired or oddly-claimed token must carry a genuine signature, or it
// would be refused for its signature alone.
// ---------------------------------------------------------------------------------------------

/// Claims valid for `ttl_seconds` from now (negative: expired that long ago).
fn claims(sub: &str, role: &str, ttl_seconds: i64) -> Value {
    let now = i64::try_from(jsonwebtoken::get_current_timestamp()).expect("the time fits in an i64");
    json!({"sub": sub, "role": role, "iat": now.min(now + ttl_seconds), "exp": now + ttl_seconds,
           "iss": ISSUER, "aud": AUDIENCE})
}

/// A JWT with `claims`, signed HS256 with the test gateway's secret.
fn hs256(claims: &Value) -> String {
    let key = EncodingKey::from_secret(TEST_SECRET.as_bytes());
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("sign a token")
}

/// `json` as a JWT segment: base64url without padding.
fn segment(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

#[tokio::test]
async fn a_role_that_may_not_use_an_endpoint_gets_403_whatever_its_request_carries() {
    check_matrix(|w| {
        let bad_range = "?from=yesterday&to=-9999-01-01";
        let dashboard = "/admin/chat-dashboard";
        let junk = json!({"no": "such field", "status": 7});
        let forbidden =
            |caller, method, path: String| Cell::new(caller, method, path).refused(403, "forbidden");
        let with_junk = |cell: Cell| cell.with_body(junk.clone());
        vec![
            forbidden(Caller::CustomerA, Method::GET, format!("{dashboard}/agent-performance{bad_range}")),
            forbidden(Caller::AgentX, Method::GET, format!("{dashboard}/satisfaction{bad_range}")),
            forbidden(Caller::AgentX, Method::GET, format!("{dashboard}/message-analytics{bad_range}")),
            forbidden(Caller::CustomerA, Method::GET, format!("{dashboard}/active-sessions?limit=-1")),
            forbidden(Caller::CustomerA, Method::GET, format!("{dashboard}/waiting-sessions?cursor=%ZZ")),
            forbidden(Caller::AgentX, Method::GET, format!("/admin/audit-log{bad_range}&actor=%00")),
            forbidden(Caller::AgentX, Method::GET, format!("/admin/reports/daily{bad_range}&format=pdf")),
            forbidden(Caller::CustomerA, Method::GET, format!("/admin/reports/conversations.csv{bad_range}")),
            forbidden(Caller::AgentX, Method::GET, "/admin/reports/not-a-report/download".into()),
            forbidden(Caller::AgentX, Method::GET, "/admin/reports?limit=0".into()),
            forbidden(Caller::AgentX, Method::GET, "/admin/analytics/backfill/not-a-job".into()),
            with_junk(forbidden(Caller::AgentX, Method::POST, "/admin/analytics/backfill".into())),
            with_junk(forbidden(
                Caller::CustomerA,
                Method::POST,
                format!("{dashboard}/sessions/nope/assign"),
            )),
            with_junk(forbidden(
                Caller::CustomerA,
                Method::POST,
                format!("{dashboard}/sessions/nope/transfer"),
            )),
            with_junk(forbidden(Caller::AgentX, Method::POST, "/chat/sessions".into())),
            with_junk(forbidden(
                Caller::AgentX,
                Method::POST,
                format!("/chat/sessions/{}/rating", w.assigned),
            )),
            with_junk(forbidden(Caller::CustomerA, Method::POST, "/chat/users/%20/block".into())),
            forbidden(Caller::CustomerA, Method::POST, "/chat/users/%20/unblock".into()),
            with_junk(forbidden(Caller::AgentX, Method::POST, "/chat/rooms".into())),
            with_junk(forbidden(Caller::Admin, Method::PUT, "/agent/status".into())),
            with_junk(forbidden(
                Caller::AgentX,
                Method::PATCH,
                format!("/admin/agents/{}", Caller::AgentY.id()),
            )),
            with_junk(forbidden(Caller::AgentX, Method::POST, "/notifications/send".into())),
            with_junk(forbidden(Caller::AgentX, Method::POST, "/notifications/bulk-send".into())),
        ]
    })
    .await;
}

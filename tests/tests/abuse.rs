//! Abuse limits, through the public API on both backends: one customer cannot flood the queue
//! (open-session cap, priorities customers may choose, staff changing priorities, the WebSocket
//! send limit), blocking is for customers and lifted only by the blocker or an admin, and a
//! waiting session's notes and transcript are for those who handled it.

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::domain::UserId;
use switchboard_shared::repo::blocks;
use switchboard_tests::{
    arranged, assigned_session, id_of, ids, on_duty, open_session, send, Backend, Caller, Reply, TestApi,
};
use tokio::task::JoinSet;

/// Runs a scenario as two tests, one per storage backend.
macro_rules! on_both_backends {
    ($scenario:ident => $on_sqlite:ident, $on_dynamodb:ident) => {
        #[tokio::test]
        async fn $on_sqlite() {
            $scenario(TestApi::start(Backend::Sqlite).await).await;
        }

        #[tokio::test]
        async fn $on_dynamodb() {
            $scenario(TestApi::start(Backend::DynamoDb).await).await;
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Steps the tests share
// ---------------------------------------------------------------------------------------------

async fn open(api: &TestApi, customer: Caller, body: Value) -> Reply {
    customer.call(api, Method::POST, "/chat/sessions", Some(body)).await
}

/// The ids of the sessions a caller lists (`query` after `?`).
async fn listed(api: &TestApi, caller: Caller, query: &str) -> Vec<String> {
    let reply = caller.call(api, Method::GET, &format!("/chat/sessions?{query}&limit=200"), None).await;
    ids(&arranged(reply, 200, "list sessions"))
}

async fn close(api: &TestApi, caller: Caller, session: &str) -> Reply {
    caller.call(api, Method::POST, &format!("/chat/sessions/{session}/close"), None).await
}

async fn set_priority(api: &TestApi, caller: Caller, session: &str, priority: &str) -> Reply {
    caller
        .call(api, Method::PATCH, &format!("/chat/sessions/{session}"), Some(json!({"priority": priority})))
        .await
}

async fn block(api: &TestApi, by: Caller, user: &str) -> Reply {
    by.call(api, Method::POST, &format!("/chat/users/{user}/block"), Some(json!({"reason": "abuse"}))).await
}

async fn unblock(api: &TestApi, by: Caller, user: &str) -> Reply {
    by.call(api, Method::POST, &format!("/chat/users/{user}/unblock"), None).await
}

async fn is_blocked(api: &TestApi, user: Caller) -> bool {
    let user = UserId::parse(user.id()).expect("a user id");
    blocks::get(api.store.as_ref(), &user).await.expect("read the block").is_some()
}

async fn messages(api: &TestApi, caller: Caller, session: &str) -> Vec<Value> {
    let reply = caller.call(api, Method::GET, &format!("/chat/messages/{session}?limit=200"), None).await;
    arranged(reply, 200, "list messages").body["items"].as_array().cloned().unwrap_or_default()
}

fn bodies(messages: &[Value]) -> Vec<String> {
    messages.iter().filter_map(|m| m["body"].as_str().map(str::to_owned)).collect()
}

// ---------------------------------------------------------------------------------------------
// The open-session cap
// ---------------------------------------------------------------------------------------------

async fn a_fourth_open_session_is_refused_and_nothing_is_written(api: TestApi) {
    // Arrange
    for n in 0..3 {
        open_session(&api, Caller::CustomerA, &format!("question {n}")).await;
    }

    // Act
    let fourth = open(&api, Caller::CustomerA, json!({"subject": "question 3"})).await;

    // Assert
    assert_eq!(fourth.status, 409, "{:?}", fourth.body);
    assert_eq!(fourth.error_code(), "too_many_open_sessions");
    assert_eq!(listed(&api, Caller::CustomerA, "").await.len(), 3, "the refused session is not stored");
    assert_eq!(listed(&api, Caller::Admin, "status=waiting").await.len(), 3, "nor queued");
    let other = open(&api, Caller::CustomerB, json!({"subject": "mine"})).await;
    assert_eq!(other.status, 201, "another customer is not held back: {:?}", other.body);
}

on_both_backends!(a_fourth_open_session_is_refused_and_nothing_is_written =>
    a_fourth_open_session_is_refused_on_sqlite, a_fourth_open_session_is_refused_on_dynamodb);

async fn concurrent_opens_never_exceed_the_cap(api: TestApi) {
    // Arrange
    let api = std::sync::Arc::new(api);
    let mut opens = JoinSet::new();

    // Act: eight opens at once.
    for n in 0..8 {
        let api = std::sync::Arc::clone(&api);
        opens.spawn(
            async move { open(&api, Caller::CustomerA, json!({"subject": format!("burst {n}")})).await },
        );
    }
    let mut statuses = Vec::new();
    while let Some(reply) = opens.join_next().await {
        let reply = reply.expect("an open finishes");
        if reply.status == 409 {
            assert_eq!(reply.error_code(), "too_many_open_sessions", "{:?}", reply.body);
        }
        statuses.push(reply.status);
    }

    // Assert
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 201, 201, 409, 409, 409, 409, 409]);
    assert_eq!(listed(&api, Caller::CustomerA, "").await.len(), 3);
}

on_both_backends!(concurrent_opens_never_exceed_the_cap =>
    concurrent_opens_never_exceed_the_cap_on_sqlite, concurrent_opens_never_exceed_the_cap_on_dynamodb);

async fn a_closed_session_frees_a_place_and_reopening_takes_one(api: TestApi) {
    // Arrange: three open sessions, one of them closed by its customer.
    let mut sessions = Vec::new();
    for n in 0..3 {
        sessions.push(open_session(&api, Caller::CustomerA, &format!("question {n}")).await);
    }
    arranged(close(&api, Caller::CustomerA, &sessions[0]).await, 200, "the customer closes one");

    // Act
    let fourth = open(&api, Caller::CustomerA, json!({"subject": "a new question"})).await;
    let reopened = Caller::CustomerA
        .call(&api, Method::POST, &format!("/chat/sessions/{}/reopen", sessions[0]), None)
        .await;

    // Assert: the freed place went to the new session; the reopen would be a fourth.
    assert_eq!(fourth.status, 201, "{:?}", fourth.body);
    assert_eq!(reopened.status, 409, "{:?}", reopened.body);
    assert_eq!(reopened.error_code(), "too_many_open_sessions");
    let closed = listed(&api, Caller::Admin, "status=closed").await;
    assert_eq!(closed, [sessions[0].clone()], "the session stays closed");
    arranged(close(&api, Caller::Admin, &sessions[1]).await, 200, "an admin closes another");
    let reopened = Caller::CustomerA
        .call(&api, Method::POST, &format!("/chat/sessions/{}/reopen", sessions[0]), None)
        .await;
    assert_eq!(reopened.status, 200, "a place is free again: {:?}", reopened.body);
}

on_both_backends!(a_closed_session_frees_a_place_and_reopening_takes_one =>
    a_closed_session_frees_a_place_on_sqlite, a_closed_session_frees_a_place_on_dynamodb);

// ---------------------------------------------------------------------------------------------
// Priorities
// ---------------------------------------------------------------------------------------------

async fn a_customer_cannot_choose_urgent(api: TestApi) {
    // Act
    let urgent = open(&api, Caller::CustomerA, json!({"subject": "me first", "priority": "urgent"})).await;
    let high = open(&api, Caller::CustomerA, json!({"subject": "soon please", "priority": "high"})).await;

    // Assert
    assert_eq!(urgent.status, 422, "{:?}", urgent.body);
    assert_eq!(urgent.error_code(), "validation_failed");
    assert_eq!(high.status, 201, "{:?}", high.body);
    assert_eq!(listed(&api, Caller::CustomerA, "").await, [id_of(&high)], "the urgent one is not stored");
}

on_both_backends!(a_customer_cannot_choose_urgent =>
    a_customer_cannot_choose_urgent_on_sqlite, a_customer_cannot_choose_urgent_on_dynamodb);

async fn staff_raise_a_session_to_urgent_and_the_log_records_it(api: TestApi) {
    // Arrange: two waiting sessions; an agent's active session.
    let first = open_session(&api, Caller::CustomerB, "first in line").await;
    let second = open_session(&api, Caller::CustomerB, "second in line").await;
    let theirs = assigned_session(&api).await.session;

    // Act
    let by_admin = set_priority(&api, Caller::Admin, &second, "urgent").await;
    let by_agent = set_priority(&api, Caller::AgentX, &theirs, "high").await;

    // Assert: the admin's change moved the session to the head of the queue.
    assert_eq!(
        (by_admin.status, by_admin.body["priority"].as_str()),
        (200, Some("urgent")),
        "{:?}",
        by_admin.body
    );
    assert_eq!(
        (by_agent.status, by_agent.body["priority"].as_str()),
        (200, Some("high")),
        "{:?}",
        by_agent.body
    );
    assert_eq!(listed(&api, Caller::Admin, "status=waiting").await, [second.clone(), first]);
    let log =
        Caller::Admin.call(&api, Method::GET, &format!("/admin/audit-log?session_id={second}"), None).await;
    let changes: Vec<&Value> = log.body["items"]
        .as_array()
        .map(|items| items.iter().filter(|e| e["kind"] == "session.priority_changed").collect())
        .unwrap_or_default();
    assert_eq!(changes.len(), 1, "{:?}", log.body);
    assert_eq!(changes[0]["actor_id"], Caller::Admin.id());
    assert_eq!(
        (changes[0]["details"]["from"].as_str(), changes[0]["details"]["to"].as_str()),
        (Some("normal"), Some("urgent"))
    );
}

on_both_backends!(staff_raise_a_session_to_urgent_and_the_log_records_it =>
    staff_raise_a_session_to_urgent_on_sqlite, staff_raise_a_session_to_urgent_on_dynamodb);

async fn only_the_sessions_agent_or_an_admin_changes_its_priority(api: TestApi) {
    // Arrange: agent X's active session, and a waiting one every agent may read.
    let theirs = assigned_session(&api).await.session;
    let waiting = open_session(&api, Caller::CustomerB, "waiting").await;

    // Act
    let other_agent = set_priority(&api, Caller::AgentY, &theirs, "urgent").await;
    let on_the_queue = set_priority(&api, Caller::AgentY, &waiting, "urgent").await;
    let customer = set_priority(&api, Caller::CustomerA, &theirs, "high").await;

    // Assert: refused, and nothing changed.
    assert_eq!(
        other_agent.status, 404,
        "another agent's session is not theirs to see: {:?}",
        other_agent.body
    );
    assert_eq!(
        (on_the_queue.status, on_the_queue.error_code()),
        (403, "forbidden"),
        "{:?}",
        on_the_queue.body
    );
    assert_eq!((customer.status, customer.error_code()), (403, "forbidden"), "{:?}", customer.body);
    for session in [&theirs, &waiting] {
        let read = Caller::Admin.call(&api, Method::GET, &format!("/chat/sessions/{session}"), None).await;
        assert_eq!(read.body["priority"], "normal", "{:?}", read.body);
    }
}

on_both_backends!(only_the_sessions_agent_or_an_admin_changes_its_priority =>
    only_the_agent_or_an_admin_changes_priority_on_sqlite, only_the_agent_or_an_admin_changes_priority_on_dynamodb);

// ---------------------------------------------------------------------------------------------
// The WebSocket send limit
// ---------------------------------------------------------------------------------------------

async fn a_flood_of_send_message_frames_gets_rate_limited(api: TestApi) {
    // Arrange
    let session = assigned_session(&api).await.session;
    let before = messages(&api, Caller::Admin, &session).await.len();
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;

    // Act: frames one after another until one is refused (the bucket refills at one a second,
    // so a flood of a hundred outruns it whatever the machine's speed).
    let mut replies = Vec::new();
    for n in 0..100 {
        let frame = json!({"action": "send_message", "session_id": session, "body": format!("flood {n}")});
        let reply = customer.request(frame).await;
        let refused = reply["type"] == "error";
        replies.push(reply);
        if refused {
            break;
        }
    }

    // Assert: the whole burst went through, then `rate_limited`, and the refused one is not stored.
    let refused = replies.pop().expect("a reply");
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("rate_limited")),
        "{refused}"
    );
    assert!(replies.len() >= 20, "a burst of 20 is allowed, got {}", replies.len());
    assert!(replies.iter().all(|r| r["type"] == "message.created"), "{replies:?}");
    let stored = messages(&api, Caller::Admin, &session).await;
    assert_eq!(stored.len(), before + replies.len(), "exactly the accepted frames are stored");
    let refused_body = format!("flood {}", replies.len());
    assert!(!bodies(&stored).contains(&refused_body), "{stored:?}");
    send(&api, Caller::CustomerA, &session, "by REST").await;
}

on_both_backends!(a_flood_of_send_message_frames_gets_rate_limited =>
    a_flood_of_send_message_frames_is_limited_on_sqlite, a_flood_of_send_message_frames_is_limited_on_dynamodb);

// ---------------------------------------------------------------------------------------------
// Blocking
// ---------------------------------------------------------------------------------------------

async fn an_agent_cannot_block_an_agent_or_an_admin(api: TestApi) {
    // Arrange: agent Y and the admin have acted as staff.
    on_duty(&api, Caller::AgentY.id()).await;
    arranged(
        Caller::Admin.call(&api, Method::POST, "/chat/rooms", Some(json!({"name": "billing"}))).await,
        201,
        "the admin creates a room",
    );

    // Act
    let agent = block(&api, Caller::AgentX, Caller::AgentY.id()).await;
    let admin = block(&api, Caller::AgentX, Caller::Admin.id()).await;

    // Assert
    assert_eq!((agent.status, agent.error_code()), (403, "cannot_block_staff"), "{:?}", agent.body);
    assert_eq!((admin.status, admin.error_code()), (403, "cannot_block_staff"), "{:?}", admin.body);
    assert!(!is_blocked(&api, Caller::AgentY).await);
    assert!(!is_blocked(&api, Caller::Admin).await);
}

on_both_backends!(an_agent_cannot_block_an_agent_or_an_admin =>
    an_agent_cannot_block_staff_on_sqlite, an_agent_cannot_block_staff_on_dynamodb);

async fn only_the_blocker_or_an_admin_lifts_a_block(api: TestApi) {
    // Arrange
    open_session(&api, Caller::CustomerA, "hello").await;
    arranged(block(&api, Caller::AgentX, Caller::CustomerA.id()).await, 200, "agent X blocks the customer");

    // Act
    let other_agent = unblock(&api, Caller::AgentY, Caller::CustomerA.id()).await;

    // Assert: still blocked; the admin, and the blocker, may lift it.
    assert_eq!(
        (other_agent.status, other_agent.error_code()),
        (403, "not_blocker"),
        "{:?}",
        other_agent.body
    );
    let refused = open(&api, Caller::CustomerA, json!({"subject": "again"})).await;
    assert_eq!((refused.status, refused.error_code()), (403, "user_blocked"), "{:?}", refused.body);
    assert_eq!(unblock(&api, Caller::Admin, Caller::CustomerA.id()).await.status, 200);
    assert!(!is_blocked(&api, Caller::CustomerA).await);
    arranged(block(&api, Caller::AgentX, Caller::CustomerA.id()).await, 200, "blocked again");
    assert_eq!(unblock(&api, Caller::AgentX, Caller::CustomerA.id()).await.status, 200);
    assert!(!is_blocked(&api, Caller::CustomerA).await);
}

on_both_backends!(only_the_blocker_or_an_admin_lifts_a_block =>
    only_the_blocker_or_an_admin_unblocks_on_sqlite, only_the_blocker_or_an_admin_unblocks_on_dynamodb);

async fn a_blocked_customer_cannot_edit_or_delete_and_nothing_is_pushed(api: TestApi) {
    // Arrange: the agent listens to the session; the customer is blocked.
    let world = assigned_session(&api).await;
    let mut agent = api.connect(&Caller::AgentX.token(&api)).await;
    assert_eq!(agent.subscribe(&world.session).await["type"], "subscribed");
    arranged(block(&api, Caller::AgentX, Caller::CustomerA.id()).await, 200, "the agent blocks the customer");
    let path = format!("/chat/messages/{}/{}", world.session, world.customer_message);

    // Act
    let edit = Caller::CustomerA.call(&api, Method::PATCH, &path, Some(json!({"body": "rewritten"}))).await;
    let delete = Caller::CustomerA.call(&api, Method::DELETE, &path, None).await;

    // Assert
    assert_eq!((edit.status, edit.error_code()), (403, "user_blocked"), "{:?}", edit.body);
    assert_eq!((delete.status, delete.error_code()), (403, "user_blocked"), "{:?}", delete.body);
    let stored = messages(&api, Caller::AgentX, &world.session).await;
    let original = stored.iter().find(|m| m["id"] == world.customer_message.as_str()).expect("the message");
    assert_eq!((original["body"].as_str(), &original["deleted"]), (Some("where is it?"), &json!(false)));
    agent.barrier().await;
    assert!(agent.take("message.updated").is_empty(), "no edit was pushed");
    assert!(agent.take("message.deleted").is_empty(), "no delete was pushed");
}

on_both_backends!(a_blocked_customer_cannot_edit_or_delete_and_nothing_is_pushed =>
    a_blocked_customer_cannot_edit_or_delete_on_sqlite, a_blocked_customer_cannot_edit_or_delete_on_dynamodb);

// ---------------------------------------------------------------------------------------------
// Notes of waiting sessions
// ---------------------------------------------------------------------------------------------

async fn only_those_who_handled_a_waiting_session_read_its_notes_and_transcript(api: TestApi) {
    // Arrange: agent X served the session and wrote a note; it was closed and reopened.
    let world = assigned_session(&api).await;
    let notes = format!("/chat/sessions/{}/notes", world.session);
    arranged(
        Caller::AgentX
            .call(&api, Method::POST, &notes, Some(json!({"body": "asked for a refund twice"})))
            .await,
        201,
        "agent X writes a note",
    );
    arranged(close(&api, Caller::AgentX, &world.session).await, 200, "agent X closes it");
    let reopen = format!("/chat/sessions/{}/reopen", world.session);
    arranged(Caller::CustomerA.call(&api, Method::POST, &reopen, None).await, 200, "the customer reopens it");
    let transcript = format!("/admin/chat-dashboard/sessions/{}/transcript?format=text", world.session);

    // Act
    let y_messages =
        Caller::AgentY.call(&api, Method::GET, &format!("/chat/messages/{}", world.session), None).await;
    let y_notes = Caller::AgentY.call(&api, Method::GET, &notes, None).await;
    let y_transcript = api.fetch(&transcript, &Caller::AgentY.token(&api)).await;
    let x_notes = Caller::AgentX.call(&api, Method::GET, &notes, None).await;
    let admin_transcript = api.fetch(&transcript, &Caller::Admin.token(&api)).await;

    // Assert
    assert_eq!(y_messages.status, 200, "a waiting session's messages are open to every agent");
    assert_eq!(y_messages.body["items"].as_array().map(Vec::len), Some(2));
    assert_eq!((y_notes.status, y_notes.error_code()), (403, "session_not_handled"), "{:?}", y_notes.body);
    assert_eq!(y_transcript.status, 403, "{:?}", y_transcript.text);
    assert!(!y_transcript.text.contains("refund"), "{}", y_transcript.text);
    assert_eq!(x_notes.status, 200, "{:?}", x_notes.body);
    assert_eq!(x_notes.body["items"][0]["body"], "asked for a refund twice");
    assert_eq!(admin_transcript.status, 200);
    assert!(admin_transcript.text.contains("[private note]"), "{}", admin_transcript.text);
}

on_both_backends!(only_those_who_handled_a_waiting_session_read_its_notes_and_transcript =>
    waiting_session_notes_are_for_those_who_handled_it_on_sqlite,
    waiting_session_notes_are_for_those_who_handled_it_on_dynamodb);

on_both_backends!(staff_list_the_blocked_users_newest_first_and_read_one_users_status =>
    staff_list_the_blocked_users_on_sqlite, staff_list_the_blocked_users_on_dynamodb);

async fn staff_list_the_blocked_users_newest_first_and_read_one_users_status(api: TestApi) {
    // Arrange: X blocks A, then the admin blocks B; the admin lifts A's block, X blocks A again.
    arranged(block(&api, Caller::AgentX, Caller::CustomerA.id()).await, 200, "X blocks A");
    arranged(block(&api, Caller::Admin, Caller::CustomerB.id()).await, 200, "the admin blocks B");
    arranged(unblock(&api, Caller::Admin, Caller::CustomerA.id()).await, 200, "the admin unblocks A");
    arranged(block(&api, Caller::AgentX, Caller::CustomerA.id()).await, 200, "X blocks A again");

    // Act
    let listed = Caller::AgentY.call(&api, Method::GET, "/chat/users/blocked", None).await;
    let first_page = Caller::Admin.call(&api, Method::GET, "/chat/users/blocked?limit=1", None).await;
    let one = Caller::AgentY
        .call(&api, Method::GET, &format!("/chat/users/blocked?user_id={}", Caller::CustomerB.id()), None)
        .await;
    let nobody = Caller::AgentY.call(&api, Method::GET, "/chat/users/blocked?user_id=cust-never", None).await;
    let customer = Caller::CustomerA.call(&api, Method::GET, "/chat/users/blocked", None).await;

    // Assert: each blocked user once, newest block first, with who and why.
    let listed = arranged(listed, 200, "an agent lists the blocked users").body;
    let users: Vec<&str> =
        listed["items"].as_array().expect("items").iter().filter_map(|b| b["user_id"].as_str()).collect();
    assert_eq!(users, [Caller::CustomerA.id(), Caller::CustomerB.id()], "{listed}");
    assert_eq!(listed["items"][0]["blocked_by"], Caller::AgentX.id(), "{listed}");
    assert_eq!(listed["items"][1]["reason"], "abuse", "{listed}");
    let first_page = arranged(first_page, 200, "a page of one").body;
    assert_eq!(first_page["items"].as_array().map(Vec::len), Some(1), "{first_page}");
    assert!(first_page["next_cursor"].is_string(), "{first_page}");
    let one = arranged(one, 200, "one user's status").body;
    assert_eq!(
        (one["items"][0]["user_id"].as_str(), one["items"][0]["blocked"].as_bool()),
        (Some(Caller::CustomerB.id()), Some(true))
    );
    let nobody = arranged(nobody, 200, "a user never blocked").body;
    assert_eq!(nobody["items"][0]["blocked"], false, "{nobody}");
    assert_eq!((customer.status, customer.error_code()), (403, "forbidden"), "{customer:?}");
}

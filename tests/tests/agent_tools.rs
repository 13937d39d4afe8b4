//! Agent tools over real HTTP (and the WebSocket), on SQLite and on DynamoDB (moto): canned
//! responses — which scopes each role sees and writes, shortcodes unique per scope, placeholders
//! filled for a session, bad input refused with nothing written — and private notes, which the
//! support side reads and writes and no customer ever sees in any channel.

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_tests::{arranged, assigned_session, id_of, send, Backend, Caller, Reply, TestApi};

const CANNED: &str = "/agent/canned-responses";
/// A well-formed id of nothing.
const UNKNOWN: &str = "01JD0000000000000000000099";

switchboard_tests::on_both_backends!(
    each_role_sees_the_canned_responses_of_the_scopes_it_may_use,
    only_admins_write_global_canned_responses,
    a_shortcode_is_unique_within_its_scope_and_a_rename_frees_the_old_one,
    placeholders_are_filled_for_the_session_and_unknown_ones_are_refused,
    bad_canned_response_requests_are_refused_and_change_nothing,
    customers_can_neither_read_nor_write_notes,
    notes_never_appear_among_messages_or_in_pushes,
    only_a_notes_author_edits_it_and_closed_sessions_take_notes,
    bad_note_requests_are_refused_and_change_nothing,
    a_note_sends_no_websocket_frame_to_anyone,
);

// ---------------------------------------------------------------------------------------------
// Arranging
// ---------------------------------------------------------------------------------------------

async fn create_room(api: &TestApi, name: &str) -> String {
    let reply = Caller::Admin.call(api, Method::POST, "/chat/rooms", Some(json!({"name": name}))).await;
    id_of(&arranged(reply, 201, "the admin creates a room"))
}

/// A canned response's body: `scope` (with `room_id` if any) plus a shortcode, title and body.
fn canned_body(mut scope: Value, shortcode: &str) -> Value {
    scope["shortcode"] = json!(shortcode);
    scope["title"] = json!(format!("About {shortcode}"));
    scope["body"] = json!(format!("Hi {{{{customer.name}}}}, about {shortcode}."));
    scope
}

/// `author` writes a canned response; returns its id.
async fn canned(api: &TestApi, author: Caller, scope: Value, shortcode: &str) -> String {
    let reply = author.call(api, Method::POST, CANNED, Some(canned_body(scope, shortcode))).await;
    id_of(&arranged(reply, 201, "a canned response is written"))
}

/// The shortcodes of a list reply, in the order listed.
fn shortcodes(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list has items: {:?}", reply.body))
        .iter()
        .map(|item| item["shortcode"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every canned response an admin sees, to compare before and after refused requests.
async fn all_canned(api: &TestApi) -> Value {
    let reply = Caller::Admin.call(api, Method::GET, &format!("{CANNED}?limit=200"), None).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body
}

/// The agent comes on duty (away, so routing leaves the queue alone) serving only `rooms`.
async fn serve_only(api: &TestApi, agent: Caller, rooms: &[&str]) {
    let body = json!({"status": "away", "capacity": 5, "rooms": rooms});
    let reply = agent.call(api, Method::PUT, "/agent/status", Some(body)).await;
    assert_eq!(reply.status, 200, "{agent:?} serves only {rooms:?}: {reply:?}");
}

// ---------------------------------------------------------------------------------------------
// Canned responses
// ---------------------------------------------------------------------------------------------

async fn each_role_sees_the_canned_responses_of_the_scopes_it_may_use(backend: Backend) {
    // Arrange: agent X serves every room (no floor state), agent Y only room 1.
    let api = TestApi::start(backend).await;
    let room1 = create_room(&api, "billing").await;
    let room2 = create_room(&api, "shipping").await;
    serve_only(&api, Caller::AgentY, &[&room1]).await;
    canned(&api, Caller::AgentX, json!({"scope": "personal"}), "x-hello").await;
    canned(&api, Caller::AgentY, json!({"scope": "personal"}), "y-hello").await;
    canned(&api, Caller::Admin, json!({"scope": "global"}), "welcome").await;
    canned(&api, Caller::AgentX, json!({"scope": "room", "room_id": room1}), "r1-refund").await;
    let r2 = canned(&api, Caller::Admin, json!({"scope": "room", "room_id": room2}), "r2-tracking").await;

    // Act & Assert: personal first, then rooms, then global, each by shortcode.
    let list = |caller: Caller, query: &'static str| {
        let api = &api;
        async move { caller.call(api, Method::GET, &format!("{CANNED}{query}"), None).await }
    };
    assert_eq!(
        shortcodes(&list(Caller::AgentX, "").await),
        ["x-hello", "r1-refund", "r2-tracking", "welcome"]
    );
    assert_eq!(shortcodes(&list(Caller::AgentY, "").await), ["y-hello", "r1-refund", "welcome"]);
    assert_eq!(
        shortcodes(&list(Caller::Admin, "").await),
        ["x-hello", "y-hello", "r1-refund", "r2-tracking", "welcome"]
    );
    for customer in [Caller::CustomerA, Caller::CustomerB] {
        let reply = list(customer, "").await;
        assert_eq!((reply.status, reply.error_code()), (403, "forbidden"), "{reply:?}");
    }

    // Filters narrow what the caller may see, never widen it.
    assert_eq!(shortcodes(&list(Caller::AgentX, "?scope=global").await), ["welcome"]);
    assert_eq!(shortcodes(&list(Caller::AgentX, "?scope=personal").await), ["x-hello"]);
    assert_eq!(shortcodes(&list(Caller::AgentY, "?scope=room").await), ["r1-refund"]);
    assert_eq!(shortcodes(&list(Caller::AgentX, "?shortcode=R").await), ["r1-refund", "r2-tracking"]);
    assert_eq!(shortcodes(&list(Caller::Admin, "?scope=personal&shortcode=y").await), ["y-hello"]);
    let by_room = Caller::AgentX.call(&api, Method::GET, &format!("{CANNED}?room_id={room2}"), None).await;
    assert_eq!(shortcodes(&by_room), ["r2-tracking"]);
    let unserved = Caller::AgentY.call(&api, Method::GET, &format!("{CANNED}?room_id={room2}"), None).await;
    assert_eq!((unserved.status, unserved.error_code()), (403, "room_not_served"), "{unserved:?}");

    // Y cannot use, change or add to room 2's responses.
    let render = Caller::AgentY
        .call(&api, Method::POST, &format!("{CANNED}/{r2}/render"), Some(json!({"session_id": UNKNOWN})))
        .await;
    assert_eq!((render.status, render.error_code()), (404, "canned_response_not_found"), "{render:?}");
    let before = all_canned(&api).await;
    let add = Caller::AgentY
        .call(
            &api,
            Method::POST,
            CANNED,
            Some(canned_body(json!({"scope": "room", "room_id": room2}), "y-r2")),
        )
        .await;
    assert_eq!((add.status, add.error_code()), (403, "room_not_served"), "{add:?}");
    assert_eq!(all_canned(&api).await, before, "a refused create wrote");

    // Pages of one walk through the same list.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("{CANNED}?limit=1&cursor={c}"),
            None => format!("{CANNED}?limit=1"),
        };
        let page = Caller::AgentX.call(&api, Method::GET, &query, None).await;
        walked.extend(shortcodes(&page));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(walked.len() <= 4, "paging does not end: {walked:?}");
    }
    assert_eq!(walked, ["x-hello", "r1-refund", "r2-tracking", "welcome"]);
}

async fn only_admins_write_global_canned_responses(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let global = canned(&api, Caller::Admin, json!({"scope": "global"}), "welcome").await;
    let before = all_canned(&api).await;
    let path = format!("{CANNED}/{global}");

    // Act
    let create = Caller::AgentX
        .call(&api, Method::POST, CANNED, Some(canned_body(json!({"scope": "global"}), "mine")))
        .await;
    let replace = Caller::AgentX
        .call(&api, Method::PUT, &path, Some(json!({"shortcode": "hijacked", "title": "T", "body": "B"})))
        .await;
    let delete = Caller::AgentY.call(&api, Method::DELETE, &path, None).await;

    // Assert
    for reply in [&create, &replace, &delete] {
        assert_eq!((reply.status, reply.error_code()), (403, "forbidden"), "{reply:?}");
    }
    assert_eq!(all_canned(&api).await, before, "an agent changed the global responses");
    let edited = Caller::Admin
        .call(
            &api,
            Method::PUT,
            &path,
            Some(json!({"shortcode": "welcome", "title": "Welcome!", "body": "Hello"})),
        )
        .await;
    assert_eq!((edited.status, edited.body["title"].as_str()), (200, Some("Welcome!")), "{edited:?}");
    assert_eq!(Caller::Admin.call(&api, Method::DELETE, &path, None).await.status, 204);
    assert_eq!(shortcodes(&Caller::AgentX.call(&api, Method::GET, CANNED, None).await), Vec::<String>::new());
}

async fn a_shortcode_is_unique_within_its_scope_and_a_rename_frees_the_old_one(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let room1 = create_room(&api, "billing").await;
    let room2 = create_room(&api, "shipping").await;
    let first = canned(&api, Caller::AgentX, json!({"scope": "personal"}), "refund").await;
    let taken = |reply: &Reply| (reply.status, reply.error_code().to_owned());

    // Act & Assert: the same code in the same scope (any case) is refused and writes nothing.
    let before = all_canned(&api).await;
    let again = Caller::AgentX
        .call(&api, Method::POST, CANNED, Some(canned_body(json!({"scope": "personal"}), "REFUND")))
        .await;
    assert_eq!(taken(&again), (409, "shortcode_taken".to_owned()), "{again:?}");
    assert_eq!(all_canned(&api).await, before, "a refused create wrote");

    // The same code is free in every other scope: another agent's, global, each room.
    canned(&api, Caller::AgentY, json!({"scope": "personal"}), "refund").await;
    canned(&api, Caller::Admin, json!({"scope": "global"}), "refund").await;
    canned(&api, Caller::AgentX, json!({"scope": "room", "room_id": room1}), "refund").await;
    canned(&api, Caller::AgentY, json!({"scope": "room", "room_id": room2}), "refund").await;
    let in_room = Caller::Admin
        .call(
            &api,
            Method::POST,
            CANNED,
            Some(canned_body(json!({"scope": "room", "room_id": room1}), "refund")),
        )
        .await;
    assert_eq!(taken(&in_room), (409, "shortcode_taken".to_owned()), "{in_room:?}");

    // Keeping the code while changing the text is fine; renaming frees the old code.
    let path = format!("{CANNED}/{first}");
    let kept = Caller::AgentX
        .call(
            &api,
            Method::PUT,
            &path,
            Some(json!({"shortcode": "refund", "title": "Refunds", "body": "Done."})),
        )
        .await;
    assert_eq!(kept.status, 200, "{kept:?}");
    let renamed = Caller::AgentX
        .call(
            &api,
            Method::PUT,
            &path,
            Some(json!({"shortcode": "refund-v2", "title": "Refunds", "body": "Done."})),
        )
        .await;
    assert_eq!((renamed.status, renamed.body["shortcode"].as_str()), (200, Some("refund-v2")), "{renamed:?}");
    let second = canned(&api, Caller::AgentX, json!({"scope": "personal"}), "refund").await;

    // Renaming onto a taken code is refused and changes nothing.
    let before = all_canned(&api).await;
    let clash = Caller::AgentX
        .call(
            &api,
            Method::PUT,
            &format!("{CANNED}/{second}"),
            Some(json!({"shortcode": "refund-v2", "title": "Clash", "body": "Clash"})),
        )
        .await;
    assert_eq!(taken(&clash), (409, "shortcode_taken".to_owned()), "{clash:?}");
    assert_eq!(all_canned(&api).await, before, "a refused rename wrote");

    // Deleting frees the code too.
    assert_eq!(Caller::AgentX.call(&api, Method::DELETE, &path, None).await.status, 204);
    canned(&api, Caller::AgentX, json!({"scope": "personal"}), "refund-v2").await;
    let mine = Caller::AgentX.call(&api, Method::GET, &format!("{CANNED}?scope=personal"), None).await;
    assert_eq!(shortcodes(&mine), ["refund", "refund-v2"]);
}

async fn placeholders_are_filled_for_the_session_and_unknown_ones_are_refused(backend: Backend) {
    // Arrange: the test tokens carry the user id as the display name.
    let api = TestApi::start(backend).await;
    let world = assigned_session(&api).await;
    let body = "Hi {{customer.name}} ({{customer.id}}), {{ agent.name }} [{{agent.id}}] here about \
                \"{{session.subject}}\" in {{session.id}}.";
    let reply = Caller::AgentX
        .call(
            &api,
            Method::POST,
            CANNED,
            Some(json!({"scope": "global", "shortcode": "intro", "title": "Intro", "body": body})),
        )
        .await;
    assert_eq!(reply.status, 403, "agents write no global response: {reply:?}");
    let reply = Caller::Admin
        .call(
            &api,
            Method::POST,
            CANNED,
            Some(json!({"scope": "global", "shortcode": "intro", "title": "Intro", "body": body})),
        )
        .await;
    let intro = id_of(&arranged(reply, 201, "the admin writes a global response"));
    let render = format!("{CANNED}/{intro}/render");

    // Act
    let filled =
        Caller::AgentX.call(&api, Method::POST, &render, Some(json!({"session_id": world.session}))).await;

    // Assert
    let expected = format!(
        "Hi cust-ada (cust-ada), agent-xena [agent-xena] here about \"my parcel is late\" in {}.",
        world.session
    );
    assert_eq!((filled.status, &filled.body), (200, &json!({"body": expected})), "{filled:?}");
    // The stored text keeps its placeholders.
    let listed = Caller::AgentX.call(&api, Method::GET, CANNED, None).await;
    assert_eq!(listed.body["items"][0]["body"], body);
    // A session the agent may not read is not found, as it is everywhere else.
    let foreign =
        Caller::AgentY.call(&api, Method::POST, &render, Some(json!({"session_id": world.session}))).await;
    assert_eq!((foreign.status, foreign.error_code()), (404, "session_not_found"), "{foreign:?}");

    // Unknown placeholders are refused by name, on create and on replace, writing nothing.
    let before = all_canned(&api).await;
    let unknown = Caller::AgentX
        .call(
            &api,
            Method::POST,
            CANNED,
            Some(json!({"scope": "personal", "shortcode": "mail", "title": "Mail",
            "body": "We wrote to {{customer.email}}."})),
        )
        .await;
    assert_eq!((unknown.status, unknown.error_code()), (422, "unknown_placeholder"), "{unknown:?}");
    let message = unknown.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("{{customer.email}}"), "the message does not name it: {message}");
    let replaced = Caller::Admin
        .call(
            &api,
            Method::PUT,
            &format!("{CANNED}/{intro}"),
            Some(json!({"shortcode": "intro", "title": "Intro",
            "body": "Hi {{ agent.phone }}"})),
        )
        .await;
    assert_eq!((replaced.status, replaced.error_code()), (422, "unknown_placeholder"), "{replaced:?}");
    assert!(replaced.body["error"]["message"].as_str().unwrap_or_default().contains("{{agent.phone}}"));
    let unclosed = Caller::AgentX
        .call(
            &api,
            Method::POST,
            CANNED,
            Some(json!({"scope": "personal", "shortcode": "oops", "title": "Oops",
            "body": "Hi {{customer.name"})),
        )
        .await;
    assert_eq!((unclosed.status, unclosed.error_code()), (422, "unclosed_placeholder"), "{unclosed:?}");
    assert_eq!(all_canned(&api).await, before, "a refused body was stored");
}

async fn bad_canned_response_requests_are_refused_and_change_nothing(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let room = create_room(&api, "billing").await;
    let mine = canned(&api, Caller::AgentX, json!({"scope": "personal"}), "refund").await;
    let unknown_ulid = UNKNOWN;
    let before = all_canned(&api).await;
    let ok = |extra: Value| {
        let mut body = json!({"scope": "personal", "shortcode": "fine", "title": "Fine", "body": "Fine"});
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
            body.extend(extra);
        }
        body
    };
    let mine_path = format!("{CANNED}/{mine}");
    let replace = |extra: Value| {
        let mut body = json!({"shortcode": "fine", "title": "Fine", "body": "Fine"});
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
            body.extend(extra);
        }
        body
    };
    let cases: Vec<(Method, String, Option<Value>, u16, &str)> = vec![
        (Method::POST, CANNED.into(), Some(ok(json!({"shortcode": ""}))), 422, "validation_failed"),
        (
            Method::POST,
            CANNED.into(),
            Some(ok(json!({"shortcode": "a".repeat(33)}))),
            422,
            "validation_failed",
        ),
        (Method::POST, CANNED.into(), Some(ok(json!({"shortcode": "two words"}))), 422, "validation_failed"),
        (Method::POST, CANNED.into(), Some(ok(json!({"shortcode": "dot.ted"}))), 422, "validation_failed"),
        (Method::POST, CANNED.into(), Some(ok(json!({"title": " "}))), 422, "validation_failed"),
        (Method::POST, CANNED.into(), Some(ok(json!({"title": "t".repeat(101)}))), 422, "validation_failed"),
        (Method::POST, CANNED.into(), Some(ok(json!({"body": ""}))), 422, "validation_failed"),
        (Method::POST, CANNED.into(), Some(ok(json!({"body": "b".repeat(4001)}))), 422, "validation_failed"),
        (Method::POST, CANNED.into(), Some(ok(json!({"scope": "team"}))), 422, "validation_failed"),
        (Method::POST, CANNED.into(), Some(ok(json!({"scope": "room"}))), 422, "validation_failed"),
        (Method::POST, CANNED.into(), Some(ok(json!({"room_id": room}))), 422, "validation_failed"),
        (
            Method::POST,
            CANNED.into(),
            Some(ok(json!({"scope": "room", "room_id": "nope"}))),
            422,
            "validation_failed",
        ),
        (
            Method::POST,
            CANNED.into(),
            Some(ok(json!({"scope": "room", "room_id": unknown_ulid}))),
            404,
            "room_not_found",
        ),
        (Method::POST, CANNED.into(), Some(ok(json!({"owner_id": "agent-yuri"}))), 422, "validation_failed"),
        (Method::POST, CANNED.into(), Some(json!(["not", "an", "object"])), 422, "validation_failed"),
        (Method::POST, CANNED.into(), None, 400, "missing_body"),
        (Method::PUT, mine_path.clone(), Some(replace(json!({"scope": "global"}))), 422, "validation_failed"),
        (
            Method::PUT,
            mine_path.clone(),
            Some(replace(json!({"shortcode": "UPPER CASE"}))),
            422,
            "validation_failed",
        ),
        (Method::PUT, mine_path.clone(), Some(json!({"title": "Only a title"})), 422, "validation_failed"),
        (
            Method::PUT,
            format!("{CANNED}/{unknown_ulid}"),
            Some(replace(json!({}))),
            404,
            "canned_response_not_found",
        ),
        (Method::PUT, format!("{CANNED}/not-an-id"), Some(replace(json!({}))), 400, "invalid_id"),
        (Method::DELETE, format!("{CANNED}/{unknown_ulid}"), None, 404, "canned_response_not_found"),
        (Method::DELETE, format!("{CANNED}/not-an-id"), None, 400, "invalid_id"),
        (
            Method::POST,
            format!("{mine_path}/render"),
            Some(json!({"session_id": unknown_ulid})),
            404,
            "session_not_found",
        ),
        (
            Method::POST,
            format!("{mine_path}/render"),
            Some(json!({"session_id": "nope"})),
            422,
            "validation_failed",
        ),
        (Method::POST, format!("{mine_path}/render"), Some(json!({})), 422, "validation_failed"),
        (Method::POST, format!("{mine_path}/render"), None, 400, "missing_body"),
        (Method::GET, format!("{CANNED}?scope=team"), None, 400, "invalid_scope"),
        (Method::GET, format!("{CANNED}?scope=global&room_id={room}"), None, 400, "invalid_query"),
        (Method::GET, format!("{CANNED}?room_id=nope"), None, 400, "invalid_id"),
        (Method::GET, format!("{CANNED}?shortcode=no%20spaces"), None, 400, "invalid_shortcode"),
        (Method::GET, format!("{CANNED}?limit=0"), None, 400, "invalid_limit"),
        (Method::GET, format!("{CANNED}?limit=201"), None, 400, "invalid_limit"),
        (Method::GET, format!("{CANNED}?cursor=garbage"), None, 400, "invalid_cursor"),
    ];

    // Act & Assert
    let mut wrong = Vec::new();
    for (method, path, body, status, code) in cases {
        let reply = Caller::AgentX.call(&api, method.clone(), &path, body.clone()).await;
        if (reply.status, reply.error_code()) != (status, code) {
            wrong.push(format!(
                "  {method} {path} {body:?}: expected {status} {code}, got {} {}",
                reply.status, reply.body
            ));
        }
    }
    let token = Caller::AgentX.token(&api);
    let malformed = api.call_raw(Method::POST, CANNED, &token, "{\"scope\": ").await;
    if (malformed.status, malformed.error_code()) != (400, "malformed_json") {
        wrong.push(format!("  malformed JSON: got {} {}", malformed.status, malformed.body));
    }
    // A cursor of another list (the rooms') does not continue this one.
    let rooms_cursor = {
        create_room(&api, "shipping").await;
        let page = Caller::AgentX.call(&api, Method::GET, "/chat/rooms?limit=1", None).await;
        page.body["next_cursor"].as_str().unwrap_or_default().to_owned()
    };
    let foreign =
        Caller::AgentX.call(&api, Method::GET, &format!("{CANNED}?cursor={rooms_cursor}"), None).await;
    if (foreign.status, foreign.error_code()) != (400, "invalid_cursor") {
        wrong.push(format!("  a rooms cursor: got {} {}", foreign.status, foreign.body));
    }
    assert!(wrong.is_empty(), "bad requests answered wrongly:\n{}", wrong.join("\n"));
    assert_eq!(all_canned(&api).await, before, "a refused request changed the canned responses");
}

// ---------------------------------------------------------------------------------------------
// Notes
// ---------------------------------------------------------------------------------------------

fn notes_path(session: &str) -> String {
    format!("/chat/sessions/{session}/notes")
}

/// The notes of a session as an admin sees them.
async fn notes_of(api: &TestApi, session: &str) -> Value {
    let reply =
        Caller::Admin.call(api, Method::GET, &format!("{}?limit=200", notes_path(session)), None).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body
}

/// Agent X notes `session`; returns the note.
async fn note(api: &TestApi, session: &str, body: &str) -> Value {
    let reply =
        Caller::AgentX.call(api, Method::POST, &notes_path(session), Some(json!({"body": body}))).await;
    arranged(reply, 201, "agent X writes a note").body
}

async fn customers_can_neither_read_nor_write_notes(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let world = assigned_session(&api).await;
    let written = note(&api, &world.session, "Customer sounds upset; offer the express refund.").await;
    let note_path = format!("{}/{}", notes_path(&world.session), written["id"].as_str().unwrap_or_default());
    let before = notes_of(&api, &world.session).await;

    // Act
    let replies = [
        Caller::CustomerA.call(&api, Method::GET, &notes_path(&world.session), None).await,
        Caller::CustomerA
            .call(&api, Method::POST, &notes_path(&world.session), Some(json!({"body": "me too"})))
            .await,
        Caller::CustomerA.call(&api, Method::PATCH, &note_path, Some(json!({"body": "rewritten"}))).await,
        Caller::CustomerB.call(&api, Method::GET, &notes_path(&world.session), None).await,
    ];

    // Assert
    for reply in &replies {
        assert_eq!((reply.status, reply.error_code()), (403, "forbidden"), "{reply:?}");
        assert!(!reply.body.to_string().contains("express refund"), "a refusal leaked the note: {reply:?}");
    }
    assert_eq!(notes_of(&api, &world.session).await, before, "a customer's request changed the notes");
}

async fn notes_never_appear_among_messages_or_in_pushes(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let world = assigned_session(&api).await;

    // Act
    let written = note(&api, &world.session, "Private: customer is a reseller.").await;

    // Assert
    assert_eq!(
        (written["author_id"].as_str(), written["author_role"].as_str(), written["edited_at"].is_null()),
        (Some("agent-xena"), Some("agent"), true),
        "{written}"
    );
    for caller in [Caller::CustomerA, Caller::AgentX, Caller::Admin] {
        let messages =
            caller.call(&api, Method::GET, &format!("/chat/messages/{}", world.session), None).await;
        assert_eq!(messages.status, 200, "{messages:?}");
        let ids: Vec<&str> = messages.body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["id"].as_str())
            .collect();
        assert_eq!(ids, [world.customer_message.as_str(), world.agent_message.as_str()], "{caller:?}");
        assert!(!messages.body.to_string().contains("reseller"), "{caller:?} saw the note among messages");
    }
    let session =
        Caller::CustomerA.call(&api, Method::GET, &format!("/chat/sessions/{}", world.session), None).await;
    assert_eq!(session.body["message_count"], 2, "the note counted as a message: {session:?}");
    api.settle().await;
    let pushes = Caller::CustomerA.call(&api, Method::GET, "/notifications/delivery-logs", None).await;
    assert!(
        !pushes.body.to_string().contains("reseller"),
        "the note reached the customer's pushes: {pushes:?}"
    );
}

async fn only_a_notes_author_edits_it_and_closed_sessions_take_notes(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let world = assigned_session(&api).await;
    let first = note(&api, &world.session, "Draft").await;
    let path = format!("{}/{}", notes_path(&world.session), first["id"].as_str().unwrap_or_default());
    let before = notes_of(&api, &world.session).await;

    // Act & Assert: neither the admin nor another agent rewrites it.
    let by_admin = Caller::Admin.call(&api, Method::PATCH, &path, Some(json!({"body": "Admin's"}))).await;
    assert_eq!((by_admin.status, by_admin.error_code()), (403, "not_note_author"), "{by_admin:?}");
    let by_stranger = Caller::AgentY.call(&api, Method::PATCH, &path, Some(json!({"body": "Yuri's"}))).await;
    assert_eq!((by_stranger.status, by_stranger.error_code()), (404, "session_not_found"), "{by_stranger:?}");
    assert_eq!(notes_of(&api, &world.session).await, before, "a refused edit wrote");

    // The author's autosave replaces the text and stamps the edit.
    let saved =
        Caller::AgentX.call(&api, Method::PATCH, &path, Some(json!({"body": "Draft, then **more**"}))).await;
    assert_eq!((saved.status, saved.body["body"].as_str()), (200, Some("Draft, then **more**")), "{saved:?}");
    assert!(saved.body["edited_at"].is_string(), "{saved:?}");
    assert_eq!(saved.body["created_at"], first["created_at"]);

    // Closing the session does not close its notes; they list oldest first.
    let close = Caller::AgentX
        .call(&api, Method::POST, &format!("/chat/sessions/{}/close", world.session), None)
        .await;
    assert_eq!(close.status, 200, "{close:?}");
    let admins = Caller::Admin
        .call(&api, Method::POST, &notes_path(&world.session), Some(json!({"body": "Reviewed."})))
        .await;
    assert_eq!((admins.status, admins.body["author_role"].as_str()), (201, Some("admin")), "{admins:?}");
    let listed = notes_of(&api, &world.session).await;
    let bodies: Vec<&str> =
        listed["items"].as_array().into_iter().flatten().filter_map(|n| n["body"].as_str()).collect();
    assert_eq!(bodies, ["Draft, then **more**", "Reviewed."]);
    // Agent Y, who never had the session, sees none of it.
    let yuri = Caller::AgentY.call(&api, Method::GET, &notes_path(&world.session), None).await;
    assert_eq!((yuri.status, yuri.error_code()), (404, "session_not_found"), "{yuri:?}");
}

async fn bad_note_requests_are_refused_and_change_nothing(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let world = assigned_session(&api).await;
    let written = note(&api, &world.session, "Keep").await;
    let note_path = format!("{}/{}", notes_path(&world.session), written["id"].as_str().unwrap_or_default());
    let unknown = UNKNOWN;
    let before = notes_of(&api, &world.session).await;
    let cases: Vec<(Method, String, Option<Value>, u16, &str)> = vec![
        (Method::POST, notes_path(&world.session), Some(json!({"body": ""})), 422, "validation_failed"),
        (Method::POST, notes_path(&world.session), Some(json!({"body": " \n "})), 422, "validation_failed"),
        (
            Method::POST,
            notes_path(&world.session),
            Some(json!({"body": "n".repeat(10_001)})),
            422,
            "validation_failed",
        ),
        (
            Method::POST,
            notes_path(&world.session),
            Some(json!({"body": "x", "private": true})),
            422,
            "validation_failed",
        ),
        (Method::POST, notes_path(&world.session), Some(json!({"text": "x"})), 422, "validation_failed"),
        (Method::POST, notes_path(&world.session), None, 400, "missing_body"),
        (Method::POST, notes_path(unknown), Some(json!({"body": "x"})), 404, "session_not_found"),
        (Method::POST, notes_path("not-a-session"), Some(json!({"body": "x"})), 400, "invalid_id"),
        (Method::PATCH, note_path.clone(), Some(json!({"body": ""})), 422, "validation_failed"),
        (
            Method::PATCH,
            format!("{}/{unknown}", notes_path(&world.session)),
            Some(json!({"body": "x"})),
            404,
            "note_not_found",
        ),
        (
            Method::PATCH,
            format!("{}/nope", notes_path(&world.session)),
            Some(json!({"body": "x"})),
            400,
            "invalid_id",
        ),
        (Method::GET, notes_path(unknown), None, 404, "session_not_found"),
        (Method::GET, format!("{}?limit=0", notes_path(&world.session)), None, 400, "invalid_limit"),
        (Method::GET, format!("{}?cursor=garbage", notes_path(&world.session)), None, 400, "invalid_cursor"),
    ];

    // Act & Assert
    let mut wrong = Vec::new();
    for (method, path, body, status, code) in cases {
        let reply = Caller::AgentX.call(&api, method.clone(), &path, body).await;
        if (reply.status, reply.error_code()) != (status, code) {
            wrong.push(format!(
                "  {method} {path}: expected {status} {code}, got {} {}",
                reply.status, reply.body
            ));
        }
    }
    let malformed =
        api.call_raw(Method::POST, &notes_path(&world.session), &Caller::AgentX.token(&api), "{").await;
    if (malformed.status, malformed.error_code()) != (400, "malformed_json") {
        wrong.push(format!("  malformed JSON: got {} {}", malformed.status, malformed.body));
    }
    assert!(wrong.is_empty(), "bad requests answered wrongly:\n{}", wrong.join("\n"));
    assert_eq!(notes_of(&api, &world.session).await, before, "a refused request changed the notes");
}

async fn a_note_sends_no_websocket_frame_to_anyone(backend: Backend) {
    // Arrange: customer and agent both listen to the session, everything before is drained.
    let api = TestApi::start(backend).await;
    let world = assigned_session(&api).await;
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;
    let mut agent = api.connect(&Caller::AgentX.token(&api)).await;
    for socket in [&mut customer, &mut agent] {
        assert_eq!(socket.subscribe(&world.session).await["type"], "subscribed");
    }
    // Presence (the agent coming online) follows from the change feed: let it arrive first.
    api.settle().await;
    for socket in [&mut customer, &mut agent] {
        socket.barrier().await;
        socket.take_all();
    }

    // Act: a note, then a message as the marker that everything before it was delivered.
    note(&api, &world.session, "Secret: approve the refund without asking.").await;
    let marker = send(&api, Caller::AgentX, &world.session, "Refund approved.").await;

    // Assert: the message arrives on both sockets; before it, nothing did.
    for socket in [&mut customer, &mut agent] {
        let created = socket.expect("message.created").await;
        assert_eq!(created["message"]["id"], marker.as_str(), "{created}");
        socket.barrier().await;
    }
    let customer_frames = customer.take_all();
    assert!(customer_frames.is_empty(), "the customer got frames besides the message: {customer_frames:?}");
    let agent_frames = agent.take_all();
    assert!(
        agent_frames.iter().all(|frame| frame["type"] == "receipt"),
        "the agent got frames besides the message and its receipts: {agent_frames:?}"
    );
    assert!(!format!("{agent_frames:?}").contains("Secret"), "a frame carried the note");
    customer.close().await;
    agent.close().await;
}

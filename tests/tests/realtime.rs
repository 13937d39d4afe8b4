//! Real-time chat, black-box: real WebSocket clients (tokio-tungstenite) against the local
//! gateway, which runs the WebSocket functions and serves the Management API that the production
//! `aws-sdk-apigatewaymanagement` client posts to. On SQLite and on DynamoDB (moto).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::domain::{ConnectionId, Principal, Role, SessionId, UserId};
use switchboard_shared::repo::connections;
use switchboard_shared::store::ItemStore;
use switchboard_tests::{
    arranged, assigned_session, id_of, open_session, send, Backend, Caller, Ended, Posting, TestApi,
};

/// Each behaviour on SQLite and on DynamoDB (moto) with the production Management API client,
/// and on SQLite with the local gateway's in-process delivery (`serve`'s default).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite, super::Posting::ManagementApi).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::DynamoDb, super::Posting::ManagementApi).await;
                }
            )*
        }
        mod in_process {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite, super::Posting::InProcess).await;
                }
            )*
        }
    };
}

on_both_backends!(
    customer_and_agent_see_each_others_messages_in_order_exactly_once,
    a_retried_client_message_id_yields_no_duplicate,
    typing_reaches_the_other_side_never_the_typist_and_is_rate_limited,
    a_typing_frame_carries_the_typists_read_marker_to_the_others,
    delivered_and_read_receipts_reach_the_sender,
    a_client_that_vanished_without_disconnect_is_pruned_on_the_next_post,
    a_410_cleanup_of_a_users_last_connection_announces_them_offline,
    a_bad_token_cannot_connect_and_writes_nothing,
    bad_frames_get_error_frames_and_the_socket_stays_usable,
    presence_follows_the_first_connect_and_the_last_disconnect,
    rest_changes_fan_out_to_subscribers,
    an_agent_who_loses_a_session_stops_receiving_it,
);

fn body_of(frame: &Value) -> String {
    frame["message"]["body"].as_str().unwrap_or_default().to_owned()
}

fn message_id(frame: &Value) -> String {
    frame["message"]["id"].as_str().unwrap_or_default().to_owned()
}

async fn customer_and_agent_see_each_others_messages_in_order_exactly_once(
    backend: Backend,
    posting: Posting,
) {
    let api = TestApi::start_posting(backend, posting).await;
    let world = assigned_session(&api).await;
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;
    let mut agent = api.connect(&Caller::AgentX.token(&api)).await;
    assert_eq!(customer.subscribe(&world.session).await["type"], "subscribed");
    assert_eq!(agent.subscribe(&world.session).await["type"], "subscribed");

    let mut sent = Vec::new();
    for n in 0..6 {
        if n % 2 == 0 {
            let body = format!("customer {n}");
            let reply = customer
                .request(json!({"action": "send_message", "session_id": world.session, "body": body}))
                .await;
            assert_eq!(reply["type"], "message.created", "{reply}");
            assert_eq!(body_of(&reply), body);
            sent.push(message_id(&reply));
        } else {
            let body = format!("agent {n}");
            let reply = Caller::AgentX
                .call(
                    &api,
                    Method::POST,
                    "/chat/messages",
                    Some(json!({"session_id": world.session, "body": body})),
                )
                .await;
            sent.push(id_of(&arranged(reply, 201, "the agent sends over REST")));
        }
    }
    customer.barrier().await;
    agent.barrier().await;

    // The agent sees all six once, in order (its REST sends are fanned out to its socket too).
    let agent_seen: Vec<String> = agent.take("message.created").iter().map(message_id).collect();
    assert_eq!(agent_seen, sent);
    // The customer got its own as replies and the agent's three as events, once each, in order.
    let customer_seen: Vec<String> = customer.take("message.created").iter().map(message_id).collect();
    let agents: Vec<String> = sent.iter().skip(1).step_by(2).cloned().collect();
    assert_eq!(customer_seen, agents);
    // What the sockets saw is what the REST listing holds.
    let listed =
        Caller::CustomerA.call(&api, Method::GET, &format!("/chat/messages/{}", world.session), None).await;
    let listed = switchboard_tests::ids(&listed);
    assert_eq!(listed[2..].to_vec(), sent);
}

async fn a_retried_client_message_id_yields_no_duplicate(backend: Backend, posting: Posting) {
    let api = TestApi::start_posting(backend, posting).await;
    let world = assigned_session(&api).await;
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;
    let mut agent = api.connect(&Caller::AgentX.token(&api)).await;
    customer.subscribe(&world.session).await;
    agent.subscribe(&world.session).await;
    let frame = json!({"action": "send_message", "session_id": world.session, "body": "once", "client_message_id": "c-1"});
    let first = customer.request(frame.clone()).await;
    let retry = customer.request(frame).await;
    assert_eq!(first["type"], "message.created");
    assert_eq!(message_id(&first), message_id(&retry), "the retry returns the original");
    agent.barrier().await;
    let seen = agent.take("message.created");
    assert_eq!(seen.len(), 1, "the agent sees the message once: {seen:?}");
    assert_eq!(seen[0]["message"]["client_message_id"], "c-1");
}

async fn typing_reaches_the_other_side_never_the_typist_and_is_rate_limited(
    backend: Backend,
    posting: Posting,
) {
    let api = TestApi::start_posting(backend, posting).await;
    let world = assigned_session(&api).await;
    let mut phone = api.connect(&Caller::CustomerA.token(&api)).await;
    let mut laptop = api.connect(&Caller::CustomerA.token(&api)).await;
    let mut agent = api.connect(&Caller::AgentX.token(&api)).await;
    for socket in [&mut phone, &mut laptop, &mut agent] {
        assert_eq!(socket.subscribe(&world.session).await["type"], "subscribed");
    }
    phone.send(json!({"action": "typing", "session_id": world.session, "state": "start"})).await;
    let typing = agent.expect("typing").await;
    assert_eq!(typing["user_id"], "cust-ada");
    assert_eq!(typing["state"], "start");
    // The phone's frames are handled in order, so its pong means the typing fan-out is done.
    phone.barrier().await;
    laptop.barrier().await;
    assert!(phone.take("typing").is_empty(), "typing echoed to the typist's own socket");
    assert!(laptop.take("typing").is_empty(), "typing echoed to the typist's other device");

    let again =
        phone.request(json!({"action": "typing", "session_id": world.session, "state": "start"})).await;
    assert_eq!(again["type"], "error");
    assert_eq!(again["code"], "rate_limited");
    // A stop right after the start is its own state and passes.
    phone.send(json!({"action": "typing", "session_id": world.session, "state": "stop"})).await;
    assert_eq!(agent.expect("typing").await["state"], "stop");
    phone.barrier().await;
    agent.barrier().await;
    assert!(agent.take("typing").is_empty(), "the refused start reached the agent");
}

async fn a_typing_frame_carries_the_typists_read_marker_to_the_others(backend: Backend, posting: Posting) {
    let api = TestApi::start_posting(backend, posting).await;
    let world = assigned_session(&api).await;
    let mut phone = api.connect(&Caller::CustomerA.token(&api)).await;
    let mut laptop = api.connect(&Caller::CustomerA.token(&api)).await;
    let mut agent = api.connect(&Caller::AgentX.token(&api)).await;
    for socket in [&mut phone, &mut laptop, &mut agent] {
        assert_eq!(socket.subscribe(&world.session).await["type"], "subscribed");
    }

    // The customer read the agent's answer and starts typing: one frame tells both.
    let start = json!({"action": "typing", "session_id": world.session, "state": "start", "read_message_id": world.agent_message});
    phone.send(start).await;
    let typing = agent.expect("typing").await;
    assert_eq!(typing["user_id"], "cust-ada");
    assert_eq!(typing["read_message_id"], world.agent_message.as_str(), "{typing}");
    let own = laptop.expect("receipt").await;
    assert_eq!(
        (own["status"].as_str(), own["message_id"].as_str()),
        (Some("read"), Some(world.agent_message.as_str()))
    );
    phone.barrier().await;
    agent.barrier().await;
    assert!(agent.take("receipt").is_empty(), "the agent got a receipt besides the typing frame");
    assert!(phone.take("receipt").is_empty(), "the typist's own connection was told");
    let session = SessionId::parse(&world.session).expect("session id");
    let customer = UserId::parse("cust-ada").expect("user id");
    let marker = switchboard_shared::repo::sessions::read_marker(api.store.as_ref(), &session, &customer)
        .await
        .expect("the marker reads");
    assert_eq!(marker.map(|m| m.last_read_message_id.to_string()), Some(world.agent_message.clone()));

    // An older message moves nothing: the frame says no read; over the limit, a read that
    // moves is still told, as a receipt.
    phone.send(json!({"action": "typing", "session_id": world.session, "state": "stop", "read_message_id": world.customer_message})).await;
    let stop = agent.expect("typing").await;
    assert!(stop.get("read_message_id").is_none(), "a marker that did not move was told: {stop}");
    let newer = send(&api, Caller::AgentX, &world.session, "anything else?").await;
    let refused = phone
        .request(json!({"action": "typing", "session_id": world.session, "state": "start", "read_message_id": newer}))
        .await;
    assert_eq!(refused["code"], "rate_limited");
    // (The agent's own send brought it a `delivered` receipt first.)
    let told = loop {
        let receipt = agent.expect("receipt").await;
        if receipt["status"] == "read" {
            break receipt;
        }
    };
    assert_eq!(told["message_id"].as_str(), Some(newer.as_str()));
}

async fn delivered_and_read_receipts_reach_the_sender(backend: Backend, posting: Posting) {
    let api = TestApi::start_posting(backend, posting).await;
    let world = assigned_session(&api).await;
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;
    customer.subscribe(&world.session).await;

    // Nobody else listens: no delivered receipt.
    let lonely = customer
        .request(json!({"action": "send_message", "session_id": world.session, "body": "hello?"}))
        .await;
    customer.barrier().await;
    assert!(customer.take("receipt").is_empty(), "a receipt for a message nobody received");

    assert!(lonely.get("delivered_to").is_none(), "a reply naming users nobody reached: {lonely}");

    let mut agent = api.connect(&Caller::AgentX.token(&api)).await;
    agent.subscribe(&world.session).await;
    let mut laptop = api.connect(&Caller::CustomerA.token(&api)).await;
    laptop.subscribe(&world.session).await;
    let reply = customer
        .request(json!({"action": "send_message", "session_id": world.session, "body": "there?"}))
        .await;
    // The sending connection learns who got it from its reply; the sender's other connection
    // from a receipt.
    assert_eq!(reply["delivered_to"], json!(["agent-xena"]), "{reply}");
    let delivered = laptop.expect("receipt").await;
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(delivered["message_id"], reply["message"]["id"]);
    assert_eq!(delivered["user_ids"], json!(["agent-xena"]));
    customer.barrier().await;
    assert!(customer.take("receipt").is_empty(), "the sending connection got a receipt besides its reply");

    // The agent reads over WebSocket: the customer learns it; the marker moved.
    let read = agent
        .request(
            json!({"action": "mark_read", "session_id": world.session, "message_id": message_id(&reply)}),
        )
        .await;
    assert_eq!(read["type"], "ack", "{read}");
    let receipt = customer.expect("receipt").await;
    assert_eq!(receipt["status"], "read");
    assert_eq!(receipt["user_ids"], json!(["agent-xena"]));
    assert_eq!(receipt["message_id"], reply["message"]["id"]);
    // Reading an older message again moves nothing and tells nobody.
    Caller::AgentX
        .call(
            &api,
            Method::POST,
            &format!("/chat/sessions/{}/read", world.session),
            Some(json!({"message_id": world.customer_message})),
        )
        .await;
    customer.barrier().await;
    assert!(customer.take("receipt").is_empty(), "a receipt for a marker that did not move");
}

async fn a_client_that_vanished_without_disconnect_is_pruned_on_the_next_post(
    backend: Backend,
    posting: Posting,
) {
    let api = TestApi::start_posting(backend, posting).await;
    let world = assigned_session(&api).await;
    // A connection the gateway no longer has, whose $disconnect never ran: its records remain.
    let ghost = ConnectionId::parse("GhostConnId0000=").expect("a connection id");
    let agent =
        Principal { user_id: UserId::parse("agent-xena").expect("id"), role: Role::Agent, name: None };
    let store: &dyn ItemStore = api.store.as_ref();
    let at = switchboard_shared::domain::now();
    connections::put(store, &connections::new_connection(ghost.clone(), &agent, at)).await.expect("put");
    let session = SessionId::parse(&world.session).expect("session id");
    let [counted, subscription] = connections::subscribe(&ghost, &session, &agent, at).expect("ops");
    let ops = vec![counted.named("connection"), subscription.named("subscription")];
    store.transact_write(ops).await.expect("subscribe the ghost");
    let mut watcher = api.connect(&Caller::AgentX.token(&api)).await;
    watcher.subscribe(&world.session).await;

    switchboard_tests::send(&api, Caller::CustomerA, &world.session, "anyone?").await;

    assert_eq!(connections::get(store, &ghost).await.expect("get"), None, "the gone connection was deleted");
    assert!(!connections::is_subscribed(store, &ghost, &session).await.expect("get"));
    // The live connection of the same user was left alone, and got the message.
    assert_eq!(body_of(&watcher.expect("message.created").await), "anyone?");
    let subscribers = connections::subscribers(store, &session, at).await.expect("query");
    assert_eq!(subscribers.len(), 1);
}

async fn a_410_cleanup_of_a_users_last_connection_announces_them_offline(backend: Backend, posting: Posting) {
    let api = TestApi::start_posting(backend, posting).await;
    let world = assigned_session(&api).await;
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;
    assert_eq!(customer.subscribe(&world.session).await["type"], "subscribed");
    // Then the agent's only connection: one that vanished without $disconnect.
    let ghost = ConnectionId::parse("GhostConnId0001=").expect("a connection id");
    let agent =
        Principal { user_id: UserId::parse("agent-xena").expect("id"), role: Role::Agent, name: None };
    let store: &dyn ItemStore = api.store.as_ref();
    let at = switchboard_shared::domain::now();
    connections::put(store, &connections::new_connection(ghost.clone(), &agent, at)).await.expect("put");
    let session = SessionId::parse(&world.session).expect("session id");
    let [counted, subscription] = connections::subscribe(&ghost, &session, &agent, at).expect("ops");
    store
        .transact_write(vec![counted.named("connection"), subscription.named("subscription")])
        .await
        .expect("sub");

    customer.request(json!({"action": "send_message", "session_id": world.session, "body": "hello?"})).await;
    api.settle().await;
    customer.barrier().await;

    // Presence runs from the change feed: the ghost's registration may have announced the agent
    // online first, if the feed saw it before the send deleted it; the last word is offline.
    let presence = customer.take("presence");
    let offline = presence.last().cloned().unwrap_or_default();
    assert_eq!(
        (offline["user_id"].as_str(), offline["status"].as_str()),
        (Some("agent-xena"), Some("offline"))
    );
    assert_eq!(connections::get(store, &ghost).await.expect("get"), None);
    customer.barrier().await;
    assert!(customer.take("receipt").is_empty(), "a delivered receipt for a message nobody got");
}

async fn a_bad_token_cannot_connect_and_writes_nothing(backend: Backend, posting: Posting) {
    let api = TestApi::start_posting(backend, posting).await;
    api.store.reset();
    let wrong_secret = {
        let key = jsonwebtoken::EncodingKey::from_secret(b"another-secret-another-secret-another");
        let claims = expiring_claims(3600);
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("sign")
    };
    for token in ["", "garbage", &expired_token(), &wrong_secret] {
        assert_eq!(api.try_connect(token).await.err(), Some(401), "token {token:?}");
    }
    assert_eq!(api.store.total(), 0, "a refused connect touched the store");
}

/// Claims for cust-ada valid for `ttl_seconds` from now (negative: expired that long ago).
fn expiring_claims(ttl_seconds: i64) -> Value {
    let now = i64::try_from(jsonwebtoken::get_current_timestamp()).expect("the time fits");
    json!({"sub": "cust-ada", "role": "customer", "iat": now.min(now + ttl_seconds), "exp": now + ttl_seconds,
           "iss": switchboard_tests::ISSUER, "aud": switchboard_tests::AUDIENCE})
}

/// A genuinely signed token that expired an hour ago.
fn expired_token() -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(switchboard_tests::TEST_SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &expiring_claims(-3600), &key).expect("sign")
}

async fn bad_frames_get_error_frames_and_the_socket_stays_usable(backend: Backend, posting: Posting) {
    let api = TestApi::start_posting(backend, posting).await;
    let world = assigned_session(&api).await;
    let other = open_session(&api, Caller::CustomerB, "not yours").await;
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;
    let before = switchboard_tests::snapshot(&api, &[&world.session, &other]).await;

    let cases: Vec<(Value, &str)> = vec![
        (json!({"action": "dance", "session_id": world.session}), "unknown_action"),
        (json!({"session_id": world.session}), "missing_action"),
        // API Gateway's own route keys cannot be selected by a frame.
        (json!({"action": "$disconnect"}), "unknown_action"),
        (json!({"action": "$connect"}), "unknown_action"),
        (json!({"action": "send_message", "session_id": world.session}), "invalid_frame"),
        (json!({"action": "send_message", "session_id": world.session, "body": ""}), "invalid_frame"),
        (json!({"action": "send_message", "session_id": "nope", "body": "x"}), "invalid_frame"),
        (
            json!({"action": "send_message", "session_id": world.session, "body": "x", "extra": 1}),
            "invalid_frame",
        ),
        (json!({"action": "send_message", "session_id": other, "body": "x"}), "session_not_found"),
        (json!({"action": "subscribe", "session_id": other}), "session_not_found"),
        (json!({"action": "typing", "session_id": world.session, "state": "dancing"}), "invalid_frame"),
        (
            json!({"action": "mark_read", "session_id": world.session, "message_id": "01JD0000000000000000000009"}),
            "message_not_found",
        ),
    ];
    for (frame, code) in cases {
        let reply = customer.request(frame.clone()).await;
        assert_eq!(reply["type"], "error", "{frame} → {reply}");
        assert_eq!(reply["code"], code, "{frame} → {reply}");
        assert!(reply["message"].as_str().is_some_and(|m| !m.is_empty()), "{reply}");
    }
    // Not JSON at all: the error cannot carry a ref, so it is the next frame.
    customer.send_text("this is not json".into()).await;
    let reply = customer.expect("error").await;
    assert_eq!(reply["code"], "malformed_frame");
    customer.send_text("[1,2]".into()).await;
    assert_eq!(customer.expect("error").await["code"], "malformed_frame");
    // A `ref` must be a short string.
    customer.send(json!({"action": "ping", "ref": 7})).await;
    assert_eq!(customer.expect("error").await["code"], "invalid_frame");

    // A closed session takes no messages.
    let close = format!("/chat/sessions/{}/close", world.session);
    arranged(Caller::CustomerA.call(&api, Method::POST, &close, None).await, 200, "close");
    let after_close = switchboard_tests::snapshot(&api, &[&world.session, &other]).await;
    let reply = customer
        .request(json!({"action": "send_message", "session_id": world.session, "body": "late"}))
        .await;
    assert_eq!(reply["code"], "session_closed", "{reply}");
    // Nothing was written by any refused frame, and the socket still works.
    assert_eq!(switchboard_tests::snapshot(&api, &[&world.session, &other]).await, after_close);
    assert_ne!(before, after_close);
    customer.barrier().await;

    // A message of several frames under 32 KB each is fine while the whole stays under 128 KB
    // (spaces are not JSON: a malformed_frame error, on an open socket).
    customer.send_fragmented(&[30 * 1024, 30 * 1024, 30 * 1024]).await;
    assert_eq!(customer.expect("error").await["code"], "malformed_frame");
    customer.barrier().await;

    // A frame over API Gateway's 32 KB closes the socket with 1009.
    let huge = json!({"action": "send_message", "session_id": world.session, "body": "x".repeat(40 * 1024)});
    customer.send(huge).await;
    assert_eq!(customer.ended().await, Ended::Closed(1009));
}

async fn presence_follows_the_first_connect_and_the_last_disconnect(backend: Backend, posting: Posting) {
    let api = TestApi::start_posting(backend, posting).await;
    let world = assigned_session(&api).await;
    let mut agent = api.connect(&Caller::AgentX.token(&api)).await;
    let subscribed = agent.subscribe(&world.session).await;
    assert_eq!(subscribed["online"], json!([]), "the customer is not connected yet");

    let phone = api.connect(&Caller::CustomerA.token(&api)).await;
    let online = agent.expect("presence").await;
    assert_eq!((online["user_id"].as_str(), online["status"].as_str()), (Some("cust-ada"), Some("online")));
    assert_eq!(online["session_id"], world.session.as_str());
    // A second device is not news.
    let mut laptop = api.connect(&Caller::CustomerA.token(&api)).await;
    laptop.barrier().await;
    // Presence runs from the change feed.
    api.settle().await;
    agent.barrier().await;
    assert!(agent.take("presence").is_empty(), "a second connection announced presence again");
    // A new subscription's reply starts from what presence said (a fresh connection: moto's
    // stream can replay a cancelled transaction's update, as a second subscribe would make).
    let mut desk = api.connect(&Caller::AgentX.token(&api)).await;
    assert_eq!(desk.subscribe(&world.session).await["online"], json!(["cust-ada"]));

    phone.close().await;
    laptop.barrier().await;
    api.settle().await;
    agent.barrier().await;
    assert!(agent.take("presence").is_empty(), "offline announced while a device is still connected");
    laptop.close().await;
    api.settle().await;
    let offline = agent.expect("presence").await;
    assert_eq!(
        (offline["user_id"].as_str(), offline["status"].as_str()),
        (Some("cust-ada"), Some("offline"))
    );
}

async fn rest_changes_fan_out_to_subscribers(backend: Backend, posting: Posting) {
    let api = TestApi::start_posting(backend, posting).await;
    let session = open_session(&api, Caller::CustomerA, "fan-out").await;
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;
    assert_eq!(customer.subscribe(&session).await["session"]["status"], "waiting");

    switchboard_tests::on_duty(&api, Caller::AgentX.id()).await;
    let take = format!("/admin/chat-dashboard/sessions/{session}/assign");
    arranged(Caller::AgentX.call(&api, Method::POST, &take, Some(json!({}))).await, 200, "assign");
    let updated = customer.expect("session.updated").await;
    assert_eq!(updated["session"]["status"], "active");
    assert_eq!(updated["session"]["agent_id"], "agent-xena");

    let message = switchboard_tests::send(&api, Caller::CustomerA, &session, "first").await;
    assert_eq!(message_id(&customer.expect("message.created").await), message);
    let path = format!("/chat/messages/{session}/{message}");
    arranged(
        Caller::CustomerA.call(&api, Method::PATCH, &path, Some(json!({"body": "first!"}))).await,
        200,
        "edit",
    );
    let edited = customer.expect("message.updated").await;
    assert_eq!(body_of(&edited), "first!");
    assert!(edited["message"]["edited_at"].is_string());
    arranged(Caller::CustomerA.call(&api, Method::DELETE, &path, None).await, 200, "delete");
    let deleted = customer.expect("message.deleted").await;
    assert_eq!(deleted["message"]["deleted"], true);
    assert_eq!(deleted["message"]["body"], Value::Null);
    // Deleting a tombstone again changes nothing and tells nobody.
    arranged(Caller::CustomerA.call(&api, Method::DELETE, &path, None).await, 200, "delete again");

    let close = format!("/chat/sessions/{session}/close");
    arranged(Caller::AgentX.call(&api, Method::POST, &close, None).await, 200, "close");
    let closed = customer.expect("session.updated").await;
    assert_eq!(closed["session"]["status"], "closed");
    customer.barrier().await;
    assert!(customer.take("message.deleted").is_empty(), "a second delete was fanned out");
}

async fn an_agent_who_loses_a_session_stops_receiving_it(backend: Backend, posting: Posting) {
    let api = TestApi::start_posting(backend, posting).await;
    let session = open_session(&api, Caller::CustomerA, "who takes it").await;
    // Both agents may watch a waiting session.
    let mut xena = api.connect(&Caller::AgentX.token(&api)).await;
    let mut yuri = api.connect(&Caller::AgentY.token(&api)).await;
    assert_eq!(xena.subscribe(&session).await["type"], "subscribed");
    assert_eq!(yuri.subscribe(&session).await["type"], "subscribed");
    switchboard_tests::on_duty(&api, Caller::AgentX.id()).await;
    let take = format!("/admin/chat-dashboard/sessions/{session}/assign");
    arranged(Caller::AgentX.call(&api, Method::POST, &take, Some(json!({}))).await, 200, "assign");
    // Yuri learns it is taken, then hears nothing more of it.
    assert_eq!(yuri.expect("session.updated").await["session"]["agent_id"], "agent-xena");
    switchboard_tests::send(&api, Caller::CustomerA, &session, "private").await;
    assert_eq!(body_of(&xena.expect("message.created").await), "private");
    yuri.barrier().await;
    assert!(yuri.take("message.created").is_empty(), "a message reached an agent who lost the session");
    assert_eq!(yuri.subscribe(&session).await["code"], "session_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_128_kb_closes_the_socket_with_1009() {
    let api = TestApi::start(Backend::Sqlite).await;
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;
    // Five frames of 30 KB: each under the frame limit, together over the message limit.
    customer.send_fragmented(&[30 * 1024; 5]).await;
    assert_eq!(customer.ended().await, Ended::Closed(1009));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_subscribes_to_at_most_one_hundred_sessions() {
    let api = TestApi::start(Backend::Sqlite).await;
    // 101 customers' sessions (one customer has at most three open), watched by an admin.
    let mut sessions = Vec::new();
    for n in 0..101 {
        let body = json!({"subject": format!("question {n}")});
        let reply = api
            .as_user(&format!("cust-{n}"), Role::Customer, Method::POST, "/chat/sessions", Some(body))
            .await;
        sessions.push(id_of(&arranged(reply, 201, "a customer opens a session")));
    }
    let mut admin = api.connect(&Caller::Admin.token(&api)).await;
    for session in &sessions[..100] {
        assert_eq!(admin.subscribe(session).await["type"], "subscribed");
    }
    // Subscribing again to one of them changes nothing and is fine.
    assert_eq!(admin.subscribe(&sessions[0]).await["type"], "subscribed");
    let refused = admin.subscribe(&sessions[100]).await;
    assert_eq!(refused["code"], "too_many_subscriptions", "{refused}");
    // A new connection starts over.
    let mut again = api.connect(&Caller::Admin.token(&api)).await;
    assert_eq!(again.subscribe(&sessions[100]).await["type"], "subscribed");
}

/// Two hundred clients (100 customers and their agents), twenty messages each over the
/// WebSocket: every client receives its counterpart's twenty in the order sent, exactly once,
/// and the REST listing agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_times_twenty_messages_lose_duplicate_and_reorder_nothing() {
    const PAIRS: usize = 100;
    const MESSAGES: usize = 20;
    let api = std::sync::Arc::new(TestApi::start(Backend::Sqlite).await);
    let mut sessions = Vec::new();
    for pair in 0..PAIRS {
        let customer = format!("cust-{pair}");
        let reply = api
            .as_user(
                &customer,
                Role::Customer,
                Method::POST,
                "/chat/sessions",
                Some(json!({"subject": "load"})),
            )
            .await;
        let session = id_of(&arranged(reply, 201, "open"));
        switchboard_tests::on_duty(&api, &format!("agent-{pair}")).await;
        let take = format!("/admin/chat-dashboard/sessions/{session}/assign");
        let reply =
            api.as_user(&format!("agent-{pair}"), Role::Agent, Method::POST, &take, Some(json!({}))).await;
        arranged(reply, 200, "assign");
        sessions.push(session);
    }
    // Everyone connects and subscribes before anyone sends.
    let mut clients = Vec::new();
    for (pair, session) in sessions.iter().enumerate() {
        for (user, role) in [(format!("cust-{pair}"), Role::Customer), (format!("agent-{pair}"), Role::Agent)]
        {
            let mut socket = api.connect(&api.token(&user, role)).await;
            assert_eq!(socket.subscribe(session).await["type"], "subscribed");
            clients.push((user, session.clone(), socket));
        }
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(clients.len()));
    let mut tasks = Vec::new();
    for (user, session, mut socket) in clients {
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut mine = Vec::new();
            for n in 0..MESSAGES {
                let body = format!("{user} {n}");
                let reply = socket
                    .request(json!({"action": "send_message", "session_id": session, "body": body,
                        "client_message_id": format!("{user}-{n}")}))
                    .await;
                assert_eq!(reply["type"], "message.created", "{reply}");
                mine.push(message_id(&reply));
            }
            // Then wait for the counterpart's twenty.
            let mut theirs = Vec::new();
            while theirs.len() < MESSAGES {
                let frame = socket.expect("message.created").await;
                assert_ne!(frame["message"]["sender_id"], user.as_str(), "own message echoed: {frame}");
                theirs.push(body_of(&frame));
            }
            socket.barrier().await;
            assert!(socket.take("message.created").is_empty(), "{user} got more than {MESSAGES}");
            (user, session, mine, theirs)
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("a client task"));
    }
    for (user, session, mine, theirs) in &outcomes {
        let counterpart = if let Some(pair) = user.strip_prefix("cust-") {
            format!("agent-{pair}")
        } else {
            user.replacen("agent-", "cust-", 1)
        };
        let expected: Vec<String> = (0..MESSAGES).map(|n| format!("{counterpart} {n}")).collect();
        assert_eq!(theirs, &expected, "{user} received its counterpart's messages out of order or not all");
        let distinct: BTreeSet<&String> = mine.iter().collect();
        assert_eq!(distinct.len(), MESSAGES);
        let _ = session;
    }
    let listed = api
        .as_user(
            "cust-0",
            Role::Customer,
            Method::GET,
            &format!("/chat/messages/{}?limit=200", sessions[0]),
            None,
        )
        .await;
    assert_eq!(switchboard_tests::ids(&listed).len(), 2 * MESSAGES);
}

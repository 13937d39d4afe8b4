//! Routing survives a crash, over real HTTP and WebSocket clients, on SQLite and on DynamoDB
//! (moto): a store that fails in the middle of a routing pass loses no announcement of what was
//! assigned, one routing sweep routes the rest and sets the counters to a recount, a dispatcher
//! that died holding the lease stops nobody, and an agent who lost a session gets none of its
//! frames even when deleting their subscription failed.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::domain::Role;
use switchboard_shared::store::{ItemStore, Key, UpdateAction};
use switchboard_tests::{arranged, assigned_session, id_of, on_duty, Backend, Caller, TestApi, WsClient};

switchboard_tests::on_both_backends!(
    a_routing_pass_cut_short_by_the_store_announces_what_it_assigned_and_one_sweep_finishes_it,
    a_dispatcher_that_died_holding_the_lease_stops_routing_only_until_the_sweep,
    an_expired_lease_asked_to_run_again_is_taken_over_by_the_next_trigger,
    an_agent_who_lost_a_session_gets_none_of_its_frames_though_deleting_their_subscription_failed,
);

const ANN: &str = "agent-ann";

async fn set_status(api: &TestApi, agent: &str, status: &str, capacity: u32) -> Value {
    let body = json!({"status": status, "capacity": capacity});
    let reply = api.as_user(agent, Role::Agent, Method::PUT, "/agent/status", Some(body)).await;
    let state = arranged(reply, 200, "an agent sets their status").body;
    // Routing to them runs from the change feed.
    api.settle().await;
    state
}

/// Customer `customer` opens a session and watches it on a socket of their own.
async fn open_and_watch(api: &TestApi, customer: &str) -> (String, WsClient) {
    let body = json!({"subject": format!("help {customer}")});
    let reply = api.as_user(customer, Role::Customer, Method::POST, "/chat/sessions", Some(body)).await;
    let session = id_of(&arranged(reply, 201, "a customer opens a session"));
    let mut socket = api.connect(&api.token(customer, Role::Customer)).await;
    assert_eq!(socket.subscribe(&session).await["type"], "subscribed");
    (session, socket)
}

/// Every session in a status (the admin's listing): id → agent id (empty while waiting).
async fn sessions_in(api: &TestApi, status: &str) -> BTreeMap<String, String> {
    let path = format!("/chat/sessions?status={status}&limit=200");
    let reply = arranged(Caller::Admin.call(api, Method::GET, &path, None).await, 200, "list sessions");
    assert!(reply.body["next_cursor"].is_null(), "one page holds them all: {:?}", reply.body);
    let items = reply.body["items"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or_default().to_owned(),
                s["agent_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn overview(api: &TestApi) -> Value {
    let reply = Caller::Admin.call(api, Method::GET, "/admin/chat-dashboard/overview", None).await;
    arranged(reply, 200, "the admin reads the overview").body
}

async fn state_of(api: &TestApi, agent: &str) -> Value {
    let reply = api.as_user(agent, Role::Agent, Method::GET, "/agent/status", None).await;
    arranged(reply, 200, "an agent reads their state").body
}

/// Writes the routing lease as a dispatcher left it: held by `holder` until `until_ms`, asked to
/// run again.
async fn leave_lease(api: &TestApi, until_ms: i64) {
    let actions = vec![
        UpdateAction::Set("holder".into(), json!("a-dispatcher-that-died")),
        UpdateAction::Set("until_ms".into(), json!(until_ms)),
        UpdateAction::Set("again".into(), json!(true)),
    ];
    api.store.update(&Key::new("ROUTING", "LEASE"), actions, None).await.expect("write the lease");
}

fn epoch_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

async fn a_routing_pass_cut_short_by_the_store_announces_what_it_assigned_and_one_sweep_finishes_it(
    backend: Backend,
) {
    // Arrange: five customers wait, watching their sessions; Ann is on duty but away.
    let api = TestApi::start(backend).await;
    on_duty(&api, ANN).await;
    let mut watched = Vec::new();
    for n in 0..5 {
        watched.push(open_and_watch(&api, &format!("cust-{n}")).await);
    }
    let mut ann = api.connect(&api.token(ANN, Role::Agent)).await;
    // The sessions' own reactions (counters, facts) are done before the store starts failing.
    api.settle().await;

    // Act: Ann goes online with room for four while the store fails after four writes: her
    // status, then, in the change feed's routing pass, the routing lease and the first two
    // assignments; the third assignment fails.
    api.store.fail_writes_after(4);
    let body = json!({"status": "online", "capacity": 4});
    let reply = api.as_user(ANN, Role::Agent, Method::PUT, "/agent/status", Some(body)).await;
    arranged(reply, 200, "an agent goes online");
    api.store.refused().await;

    // Assert: what committed was announced to the customer and to Ann.
    let first = sessions_in(&api, "active").await;
    assert!((1..4).contains(&first.len()), "the pass was cut short after {} assignments", first.len());
    for (session, socket) in watched.iter_mut().filter(|(id, _)| first.contains_key(id)) {
        let updated = socket.expect("session.updated").await;
        assert_eq!(
            (updated["session"]["id"].as_str(), updated["session"]["agent_id"].as_str()),
            (Some(session.as_str()), Some(ANN))
        );
    }
    for _ in 0..first.len() {
        let updated = ann.expect("session.updated").await;
        assert!(first.contains_key(updated["session"]["id"].as_str().unwrap_or_default()), "{updated}");
    }
    // The store comes back: the feed delivers the change again.
    api.store.heal();
    api.settle().await;

    // Act: one sweep.
    let swept = api.sweep_routing().await;

    // Assert: Ann is full and one session waits; the sweep's assignments were announced too.
    let (waiting, active) = (sessions_in(&api, "waiting").await, sessions_in(&api, "active").await);
    assert_eq!((waiting.len(), active.len()), (1, 4), "{swept}");
    assert!(active.values().all(|agent| agent == ANN));
    assert_eq!(swept["routed"], 4 - first.len(), "{swept}");
    for (session, socket) in
        watched.iter_mut().filter(|(id, _)| active.contains_key(id) && !first.contains_key(id))
    {
        let updated = socket.expect("session.updated").await;
        assert_eq!(
            (updated["session"]["id"].as_str(), updated["session"]["agent_id"].as_str()),
            (Some(session.as_str()), Some(ANN))
        );
    }
    // The counters equal a recount: the queue, the floor and Ann's load.
    let figures = overview(&api).await;
    assert_eq!((figures["waiting"].as_u64(), figures["active"].as_u64()), (Some(1), Some(4)), "{figures}");
    let state = state_of(&api, ANN).await;
    assert_eq!(
        (state["active_sessions"].as_u64(), state["capacity"].as_u64()),
        (Some(4), Some(4)),
        "{state}"
    );
}

async fn a_dispatcher_that_died_holding_the_lease_stops_routing_only_until_the_sweep(backend: Backend) {
    // Arrange: a dispatcher died ten seconds into its lease, asked to run again; Ann has room.
    let api = TestApi::start(backend).await;
    leave_lease(&api, epoch_ms() + 20_000).await;
    set_status(&api, ANN, "online", 2).await;
    let (session, mut customer) = open_and_watch(&api, "cust-cat").await;
    assert_eq!(sessions_in(&api, "waiting").await.len(), 1, "the trigger found the lease held");

    // Act
    let swept = api.sweep_routing().await;

    // Assert
    assert_eq!(swept["routed"], 1, "{swept}");
    assert_eq!(sessions_in(&api, "active").await.get(&session).map(String::as_str), Some(ANN));
    let updated = customer.expect("session.updated").await;
    assert_eq!(updated["session"]["agent_id"], ANN, "{updated}");
    assert_eq!(overview(&api).await["waiting"], 0);
}

async fn an_expired_lease_asked_to_run_again_is_taken_over_by_the_next_trigger(backend: Backend) {
    // Arrange: a dispatcher died holding a lease that has expired, asked to run again.
    let api = TestApi::start(backend).await;
    leave_lease(&api, epoch_ms() - 1).await;
    set_status(&api, ANN, "online", 2).await;

    // Act: a customer opens a session.
    let body = json!({"subject": "anyone there?"});
    let reply = api.as_user("cust-dan", Role::Customer, Method::POST, "/chat/sessions", Some(body)).await;

    // Assert: routed at once.
    let opened = arranged(reply, 201, "a customer opens a session");
    assert_eq!(
        (opened.body["status"].as_str(), opened.body["agent_id"].as_str()),
        (Some("active"), Some(ANN))
    );
}

async fn an_agent_who_lost_a_session_gets_none_of_its_frames_though_deleting_their_subscription_failed(
    backend: Backend,
) {
    // Arrange: Xena has customer A's session and watches it; she transfers it to Yuri while the
    // store fails after the transfer itself (the deletion of her subscription fails).
    let api = TestApi::start(backend).await;
    let assigned = assigned_session(&api).await;
    let mut xena = api.connect(&Caller::AgentX.token(&api)).await;
    assert_eq!(xena.subscribe(&assigned.session).await["type"], "subscribed");
    let transfer = format!("/admin/chat-dashboard/sessions/{}/transfer", assigned.session);
    // The reactions to what came before are done: the one write let through is the transfer's.
    api.settle().await;
    api.store.fail_writes_after(1);
    let reply = Caller::AgentX
        .call(&api, Method::POST, &transfer, Some(json!({"to_agent_id": "agent-yuri", "reason": "refunds"})))
        .await;
    api.store.heal();
    assert_eq!(arranged(reply, 200, "Xena transfers the session").body["agent_id"], "agent-yuri");
    xena.expect("session.updated").await;

    // Act: the customer writes, edits and Yuri answers.
    let asked = switchboard_tests::send(&api, Caller::CustomerA, &assigned.session, "still there?").await;
    let edit = format!("/chat/messages/{}/{asked}", assigned.session);
    let edited = Caller::CustomerA.call(&api, Method::PATCH, &edit, Some(json!({"body": "anyone?"}))).await;
    arranged(edited, 200, "the customer edits their message");
    switchboard_tests::send(&api, Caller::AgentY, &assigned.session, "Yuri here").await;

    // Assert: nothing about the session reaches Xena any more.
    xena.barrier().await;
    let leaked: Vec<Value> = xena.take_all().into_iter().filter(|f| f["type"] != "session.updated").collect();
    assert!(leaked.is_empty(), "frames reached an agent who lost the session: {leaked:?}");
}

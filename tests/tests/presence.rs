//! Presence and an agent's changes run from the change feed: the dashboard, the waiting
//! customers' estimates and routing follow an agent's state however it changed, and a record
//! delivered twice routes no session twice.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::changes::runner;
use switchboard_shared::domain::{now, ConnectionId, Principal, Role, SessionId, UserId};
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::repo::connections;
use switchboard_shared::store::ItemStore;
use switchboard_shared::App;
use switchboard_tests::{
    arranged, fresh_store, id_of, on_both_backends, open_feed, read_feed, Backend, Caller, Posting, TestApi,
};

on_both_backends!(
    with_the_dashboard_open_an_agent_coming_online_tells_the_waiting_customers_their_new_estimate,
    an_agents_status_change_routes_from_the_feed_and_a_record_delivered_twice_routes_nothing_twice,
    a_connection_found_gone_by_a_fan_out_shows_its_agent_away_on_the_dashboard,
);

/// An admin's new room; returns its id.
async fn room(api: &TestApi, name: &str) -> String {
    let reply = Caller::Admin.call(api, Method::POST, "/chat/rooms", Some(json!({"name": name}))).await;
    id_of(&arranged(reply, 201, "an admin opens a room"))
}

async fn with_the_dashboard_open_an_agent_coming_online_tells_the_waiting_customers_their_new_estimate(
    backend: Backend,
) {
    // Arrange: an admin watches the dashboard; customer A waits in Tech, which nobody serves.
    let api = TestApi::start(backend).await;
    let mut admin = api.connect(&Caller::Admin.token(&api)).await;
    admin.request(json!({"action": "subscribe_dashboard"})).await;
    let (billing, tech) = (room(&api, "Billing").await, room(&api, "Tech").await);
    let body = json!({"subject": "my router", "room_id": tech});
    let waiting = arranged(
        Caller::CustomerA.call(&api, Method::POST, "/chat/sessions", Some(body)).await,
        201,
        "customer A opens a session in Tech",
    );
    assert_eq!(waiting.body["estimated_wait_seconds"], Value::Null, "nobody online: no estimate");
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;
    customer.subscribe(&id_of(&waiting)).await;

    // Act: an agent serving only Billing comes online with room for four.
    let body = json!({"status": "online", "capacity": 4, "rooms": [billing]});
    let reply = api.as_user("agent-bill", Role::Agent, Method::PUT, "/agent/status", Some(body)).await;
    arranged(reply, 200, "agent Bill comes online");
    api.settle().await;

    // Assert: the dashboard sees Bill, and the customer's estimate is 1 × 600 s ÷ 4 places.
    let presence = admin.expect("presence").await;
    assert_eq!(
        (presence["user_id"].as_str(), presence["status"].as_str()),
        (Some("agent-bill"), Some("online"))
    );
    let moved = customer.expect("queue.updated").await;
    assert_eq!(
        (moved["queue_position"].as_u64(), moved["estimated_wait_seconds"].as_u64()),
        (Some(1), Some(150))
    );
}

async fn an_agents_status_change_routes_from_the_feed_and_a_record_delivered_twice_routes_nothing_twice(
    backend: Backend,
) {
    // Arrange: a gateway that runs no consumer, so the test delivers the records itself; two
    // customers wait.
    let (store, dir, feed_of) = fresh_store(backend).await;
    let api = TestApi::start_feeding(backend, Posting::ManagementApi, Arc::clone(&store), dir, None).await;
    let mut opened = Vec::new();
    for customer in [Caller::CustomerA, Caller::CustomerB] {
        let reply =
            customer.call(&api, Method::POST, "/chat/sessions", Some(json!({"subject": "help"}))).await;
        opened.push(id_of(&arranged(reply, 201, "a customer opens a session")));
    }
    let body = json!({"status": "online", "capacity": 1});
    let reply = api.as_user("agent-one", Role::Agent, Method::PUT, "/agent/status", Some(body)).await;
    arranged(reply, 200, "agent One comes online with room for one");
    let status = |id: &str| {
        let path = format!("/chat/sessions/{id}");
        let api = &api;
        async move { Caller::Admin.call(api, Method::GET, &path, None).await.body }
    };
    assert_eq!(status(&opened[0]).await["status"], "waiting", "routing waits for the feed");
    let feed = open_feed(feed_of).await;
    let records = read_feed(feed.as_ref()).await;
    let reacting = App::new(store, Arc::new(ApiGatewayRealtime::for_endpoint(&api.root)));

    // Act: every record twice.
    for delivery in 1..=2 {
        let outcome = runner::process(&reacting, &records).await;
        assert_eq!((outcome.handled, outcome.failed), (records.len(), 0), "delivery {delivery}");
    }

    // Assert: the first customer has One, the second still waits, and One holds one session.
    let (first, second) = (status(&opened[0]).await, status(&opened[1]).await);
    assert_eq!((first["status"].as_str(), first["agent_id"].as_str()), (Some("active"), Some("agent-one")));
    assert_eq!(second["status"], "waiting", "{second}");
    let state = api.as_user("agent-one", Role::Agent, Method::GET, "/agent/status", None).await;
    assert_eq!(state.body["active_sessions"], 1, "{state:?}");
}

async fn a_connection_found_gone_by_a_fan_out_shows_its_agent_away_on_the_dashboard(backend: Backend) {
    // Arrange: agent X online with a session whose customer writes, and connected once; the
    // agent's connection is then lost without a `$disconnect` the gateway could pass on (its
    // record stays, as when API Gateway's call is lost).
    let api = TestApi::start(backend).await;
    let mut admin = api.connect(&Caller::Admin.token(&api)).await;
    admin.request(json!({"action": "subscribe_dashboard"})).await;
    let body = json!({"status": "online", "capacity": 2});
    arranged(
        Caller::AgentX.call(&api, Method::PUT, "/agent/status", Some(body)).await,
        200,
        "X comes online",
    );
    let session = id_of(&arranged(
        Caller::CustomerA.call(&api, Method::POST, "/chat/sessions", Some(json!({"subject": "hello"}))).await,
        201,
        "customer A opens a session, routed to X",
    ));
    api.settle().await;
    let ghost = ConnectionId::parse("GhostAgentId001=").expect("an id");
    let agent = Principal {
        user_id: UserId::parse(Caller::AgentX.id()).expect("an id"),
        role: Role::Agent,
        name: None,
    };
    let store: &dyn ItemStore = api.store.as_ref();
    let at = now();
    connections::put(store, &connections::new_connection(ghost.clone(), &agent, at)).await.expect("put");
    let session_id = SessionId::parse(&session).expect("a session id");
    let [counted, subscription] = connections::subscribe(&ghost, &session_id, &agent, at).expect("ops");
    store
        .transact_write(vec![counted.named("connection"), subscription.named("subscription")])
        .await
        .expect("sub");
    api.settle().await;
    admin.barrier().await;
    admin.take_all();

    // Act: the customer writes; telling X finds the connection gone.
    switchboard_tests::send(&api, Caller::CustomerA, &session, "anyone there?").await;
    api.settle().await;

    // Assert: the dashboard sees X away for the grace period.
    let away = admin.expect("presence").await;
    assert_eq!(
        (away["user_id"].as_str(), away["status"].as_str()),
        (Some(Caller::AgentX.id()), Some("away")),
        "{away}"
    );
    assert!(away["agent"]["away_until"].is_string(), "{away}");
}

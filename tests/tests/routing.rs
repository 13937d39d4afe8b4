//! The support floor over real HTTP and WebSocket clients, on SQLite and on DynamoDB (moto):
//! agents' status and capacity, routing (fair, race-safe, priority then FIFO), manual assignment
//! and transfer, reopening, ratings, the live dashboard, and every bad input refused with
//! nothing written.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::domain::Role;
use switchboard_tests::{arranged, id_of, on_duty, snapshot, Backend, Caller, Reply, TestApi};

const STATUS: &str = "/agent/status";

switchboard_tests::on_both_backends!(
    concurrent_sessions_spread_evenly_and_nobody_goes_over_capacity,
    a_full_floor_drains_the_queue_in_priority_then_arrival_order,
    of_two_admins_assigning_one_session_at_once_exactly_one_wins,
    away_and_offline_agents_are_never_routed_and_manual_assignment_respects_capacity,
    an_agent_who_never_set_a_status_is_told_to_go_online_or_away_to_take_a_session,
    agents_route_only_sessions_of_rooms_they_serve,
    a_transfer_moves_the_session_tells_everyone_and_moves_the_load,
    waiting_customers_see_their_place_in_the_queue_and_an_estimate,
    a_closed_session_is_rated_once_and_the_rating_may_be_changed,
    a_reopened_session_waits_again_and_is_routed,
    the_live_dashboard_gets_the_figures_at_most_once_a_second_and_the_last_change,
    an_agent_who_loses_their_last_connection_shows_away_then_returns_online,
    bad_floor_requests_are_refused_and_change_nothing,
    an_admin_raises_an_agents_capacity_and_a_waiting_session_is_routed_to_them,
    an_admin_lowers_an_agents_capacity_and_sets_their_rooms_without_changing_their_status,
    an_admins_capacity_change_and_the_agents_own_status_change_at_once_both_hold,
);

async fn agent_call(api: &TestApi, agent: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
    api.as_user(agent, Role::Agent, method, path, body).await
}

/// `PUT /agent/status`, then the change feed's reactions to it (routing, the dashboard).
async fn set_status(api: &TestApi, agent: &str, body: Value) -> Reply {
    let reply = agent_call(api, agent, Method::PUT, STATUS, Some(body)).await;
    api.settle().await;
    reply
}

async fn go_online(api: &TestApi, agent: &str, capacity: u32) -> Value {
    let reply = set_status(api, agent, json!({"status": "online", "capacity": capacity})).await;
    arranged(reply, 200, "an agent goes online").body
}

async fn state_of(api: &TestApi, agent: &str) -> Value {
    arranged(agent_call(api, agent, Method::GET, STATUS, None).await, 200, "an agent reads their state").body
}

async fn session(api: &TestApi, id: &str) -> Value {
    arranged(
        Caller::Admin.call(api, Method::GET, &format!("/chat/sessions/{id}"), None).await,
        200,
        "read a session",
    )
    .body
}

/// Opens a session as customer `customer` (any id) with `priority`; returns the reply's body.
async fn open(api: &TestApi, customer: impl Into<String>, priority: &str) -> Value {
    let customer: String = customer.into();
    let body = json!({"subject": format!("help {customer}"), "priority": switchboard_tests::customer_priority(priority)});
    let reply = api.as_user(&customer, Role::Customer, Method::POST, "/chat/sessions", Some(body)).await;
    let opened = arranged(reply, 201, "a customer opens a session").body;
    if priority == "urgent" {
        return switchboard_tests::raise_to_urgent(api, &opened).await;
    }
    opened
}

async fn close(api: &TestApi, session: &str) -> Value {
    let path = format!("/chat/sessions/{session}/close");
    arranged(Caller::Admin.call(api, Method::POST, &path, None).await, 200, "an admin closes a session").body
}

/// Runs the routing sweep until a run ends within its time budget (a slow store may need more
/// than one run, as once a minute in production).
async fn sweep_until_done(api: &TestApi) {
    while api.sweep_routing().await["out_of_time"] == true {}
}

/// Every active session's agent (the admin's listing, all pages).
async fn assignments(api: &TestApi) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/chat/sessions?status=active&limit=200&cursor={c}"),
            None => "/chat/sessions?status=active&limit=200".to_owned(),
        };
        let reply = arranged(Caller::Admin.call(api, Method::GET, &path, None).await, 200, "list active");
        for item in reply.body["items"].as_array().cloned().unwrap_or_default() {
            let id = item["id"].as_str().unwrap_or_default().to_owned();
            let agent = item["agent_id"].as_str().unwrap_or_default().to_owned();
            assert!(out.insert(id, agent).is_none(), "a session is listed twice");
        }
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return out,
        }
    }
}

fn loads(assignments: &BTreeMap<String, String>) -> BTreeMap<String, usize> {
    let mut loads = BTreeMap::new();
    for agent in assignments.values() {
        *loads.entry(agent.clone()).or_default() += 1;
    }
    loads
}

async fn concurrent_sessions_spread_evenly_and_nobody_goes_over_capacity(backend: Backend) {
    // Arrange: five agents online with room for 30 each (150 in all).
    let api = TestApi::start(backend).await;
    let agents: Vec<String> = (1..=5).map(|n| format!("agent-{n}")).collect();
    for agent in &agents {
        go_online(&api, agent, 30).await;
    }

    // Act: 100 customers open a session each, all at once.
    let replies = join_all((0..100).map(|n| open(&api, format!("cust-{n}"), "normal"))).await;

    // Assert: every session went to exactly one agent, each agent within one session of even.
    // (A creation's routing may place an earlier session first; its own goes to the next free
    // place, so a reply may still say waiting — but none is left waiting once all are in and
    // the routing sweep ran, which routes what a dispatcher out of time left.)
    assert_eq!(replies.len(), 100);
    sweep_until_done(&api).await;
    let queue = Caller::Admin.call(&api, Method::GET, "/chat/sessions?status=waiting", None).await;
    assert_eq!(queue.body["items"], json!([]), "nothing is left waiting");
    let assigned = assignments(&api).await;
    assert_eq!(assigned.len(), 100, "100 sessions, each assigned once");
    let loads = loads(&assigned);
    assert_eq!(loads.keys().cloned().collect::<Vec<_>>(), agents, "every agent got sessions");
    let (least, most) = (loads.values().min().copied(), loads.values().max().copied());
    assert!(most.zip(least).is_some_and(|(most, least)| most - least <= 1), "uneven loads: {loads:?}");
    for agent in &agents {
        let state = state_of(&api, agent).await;
        assert_eq!(state["active_sessions"], loads[agent], "{agent}'s load is what they serve: {state}");
    }
}

async fn a_full_floor_drains_the_queue_in_priority_then_arrival_order(backend: Backend) {
    // Arrange: five agents with capacities 1 to 5 (15 in all).
    let api = TestApi::start(backend).await;
    let capacities: BTreeMap<String, u32> = (1..=5).map(|n| (format!("agent-{n}"), n)).collect();
    for (agent, capacity) in &capacities {
        go_online(&api, agent, *capacity).await;
    }

    // Act: 100 sessions of the priorities customers choose, at once; then, one by one, the first
    // 15 close.
    let priorities = ["low", "normal", "high"];
    let opened = join_all((0..100).map(|n| open(&api, format!("cust-{n}"), priorities[n % 3]))).await;
    // What a dispatcher out of time left is routed by the sweep.
    sweep_until_done(&api).await;

    // Assert: the floor is full, nobody over capacity, the rest waits.
    let assigned = assignments(&api).await;
    assert_eq!(assigned.len(), 15, "exactly the floor's capacity is assigned");
    for (agent, load) in loads(&assigned) {
        assert_eq!(load, capacities[&agent] as usize, "{agent} is at capacity");
    }
    // The queue as the agents see it, in routing order.
    let queue = arranged(
        agent_call(&api, "agent-1", Method::GET, "/chat/sessions?status=waiting&limit=200", None).await,
        200,
        "the queue",
    )
    .body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(queue.len(), 85);
    let rank = |p: &Value| priorities.iter().rev().position(|x| p == x).unwrap_or(9);
    let mut expected = queue.clone();
    expected.sort_by(|a, b| {
        (rank(&a["priority"]), a["queued_at"].as_str(), a["id"].as_str()).cmp(&(
            rank(&b["priority"]),
            b["queued_at"].as_str(),
            b["id"].as_str(),
        ))
    });
    assert_eq!(queue, expected, "the queue is in priority, then arrival, order");
    let positions: Vec<u64> = queue.iter().filter_map(|s| s["queue_position"].as_u64()).collect();
    assert_eq!(positions, (1..=85).collect::<Vec<u64>>());

    // Each close frees one place: the head of the queue takes it.
    let mut drained = Vec::new();
    let mut active: Vec<String> = assigned.keys().cloned().collect();
    for _ in 0..15 {
        let before = assignments(&api).await;
        let closing = active.remove(0);
        close(&api, &closing).await;
        // The close's dispatch may hand its pass to a dispatcher still running (the lease's
        // holder) or run out of time on a loaded machine: the sweep finishes what is left.
        sweep_until_done(&api).await;
        let after = assignments(&api).await;
        let new: Vec<&String> = after.keys().filter(|id| !before.contains_key(*id)).collect();
        assert_eq!(new.len(), 1, "one waiting session took the freed place");
        assert_eq!(after[new[0]], before[&closing], "it went to the agent who freed the place");
        drained.push(new[0].clone());
        active.push(new[0].clone());
    }
    let expected_order: Vec<String> =
        expected.iter().take(15).filter_map(|s| s["id"].as_str().map(str::to_owned)).collect();
    assert_eq!(drained, expected_order, "the queue drained high first, then oldest first");
    assert_eq!(opened.len(), 100);
}

async fn of_two_admins_assigning_one_session_at_once_exactly_one_wins(backend: Backend) {
    let api = TestApi::start(backend).await;
    on_duty(&api, "agent-x1").await;
    on_duty(&api, "agent-x2").await;
    for round in 0..5 {
        // A customer per round: one customer has at most three sessions open.
        let body = json!({"subject": format!("race {round}")});
        let customer = format!("cust-race-{round}");
        let id = id_of(&arranged(
            api.as_user(&customer, Role::Customer, Method::POST, "/chat/sessions", Some(body)).await,
            201,
            "open",
        ));
        let path = format!("/admin/chat-dashboard/sessions/{id}/assign");
        let (a, b) = tokio::join!(
            api.as_user("admin-1", Role::Admin, Method::POST, &path, Some(json!({"agent_id": "agent-x1"}))),
            api.as_user("admin-2", Role::Admin, Method::POST, &path, Some(json!({"agent_id": "agent-x2"}))),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {a:?} / {b:?}");
        let (winner, loser) = if a.status == 200 { (&a, &b) } else { (&b, &a) };
        assert_eq!(loser.error_code(), "session_not_waiting");
        let stored = session(&api, &id).await;
        assert_eq!(
            stored["agent_id"], winner.body["agent_id"],
            "round {round}: stored {stored} after {a:?} / {b:?}"
        );
    }
    let total = state_of(&api, "agent-x1").await["active_sessions"].as_u64().unwrap_or(99)
        + state_of(&api, "agent-x2").await["active_sessions"].as_u64().unwrap_or(99);
    assert_eq!(total, 5, "the loads count each session once");
}

/// An admin's `PATCH /admin/agents/{agent}` with `body`, then the change feed's reactions to it.
async fn admin_sets(api: &TestApi, agent: &str, body: Value) -> Reply {
    let reply = Caller::Admin.call(api, Method::PATCH, &format!("/admin/agents/{agent}"), Some(body)).await;
    api.settle().await;
    reply
}

async fn session_agent(api: &TestApi, id: &str) -> Value {
    session(api, id).await["agent_id"].clone()
}

async fn an_agent_who_never_set_a_status_is_told_to_go_online_or_away_to_take_a_session(backend: Backend) {
    let api = TestApi::start(backend).await;
    let waiting = open(&api, "cust-1", "normal").await;
    let id = waiting["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/admin/chat-dashboard/sessions/{id}/assign");

    let refused = agent_call(&api, "agent-new", Method::POST, &path, Some(json!({}))).await;

    assert_eq!((refused.status, refused.error_code()), (409, "agent_offline"), "{refused:?}");
    let message = refused.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("online or away"), "the message says what to do: {message}");
    assert_eq!(session(&api, &id).await["status"], "waiting");
    set_status(&api, "agent-new", json!({"status": "away"})).await;
    let taken = agent_call(&api, "agent-new", Method::POST, &path, Some(json!({}))).await;
    assert_eq!((taken.status, &taken.body["agent_id"]), (200, &json!("agent-new")), "{taken:?}");
}

async fn away_and_offline_agents_are_never_routed_and_manual_assignment_respects_capacity(backend: Backend) {
    let api = TestApi::start(backend).await;
    set_status(&api, "agent-away", json!({"status": "away", "capacity": 1})).await;
    set_status(&api, "agent-off", json!({"status": "offline"})).await;
    let first = open(&api, "cust-1", "urgent").await;
    assert_eq!(first["status"], "waiting", "away and offline agents get nothing: {first}");

    // Manual: an away agent may be given one up to capacity, an offline or unknown one none.
    let id = first["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/admin/chat-dashboard/sessions/{id}/assign");
    let offline = Caller::Admin.call(&api, Method::POST, &path, Some(json!({"agent_id": "agent-off"}))).await;
    assert_eq!((offline.status, offline.error_code()), (409, "agent_offline"));
    let unknown =
        Caller::Admin.call(&api, Method::POST, &path, Some(json!({"agent_id": "agent-nobody"}))).await;
    assert_eq!((unknown.status, unknown.error_code()), (404, "agent_not_found"));
    let given = Caller::Admin.call(&api, Method::POST, &path, Some(json!({"agent_id": "agent-away"}))).await;
    assert_eq!(given.status, 200, "{given:?}");
    let second = open(&api, "cust-2", "normal").await;
    let path = format!("/admin/chat-dashboard/sessions/{}/assign", second["id"].as_str().unwrap_or_default());
    let full = agent_call(&api, "agent-away", Method::POST, &path, Some(json!({}))).await;
    assert_eq!((full.status, full.error_code()), (409, "agent_at_capacity"));
    assert_eq!(session(&api, second["id"].as_str().unwrap_or_default()).await["status"], "waiting");

    // Coming online with room routes the waiting session at once.
    let state = set_status(&api, "agent-off", json!({"status": "online", "capacity": 2})).await;
    assert_eq!(state.status, 200);
    assert_eq!(session_agent(&api, second["id"].as_str().unwrap_or_default()).await, "agent-off");
}

async fn agents_route_only_sessions_of_rooms_they_serve(backend: Backend) {
    let api = TestApi::start(backend).await;
    let room = |name: &str| {
        let name = name.to_owned();
        let api = &api;
        async move {
            id_of(&arranged(
                Caller::Admin.call(api, Method::POST, "/chat/rooms", Some(json!({"name": name}))).await,
                201,
                "a room",
            ))
        }
    };
    let (billing, tech) = (room("Billing").await, room("Tech").await);
    let reply =
        set_status(&api, "agent-bill", json!({"status": "online", "capacity": 5, "rooms": [billing]})).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let body = |room: &str| json!({"subject": "help", "room_id": room});
    let in_tech = arranged(
        Caller::CustomerA.call(&api, Method::POST, "/chat/sessions", Some(body(&tech))).await,
        201,
        "open in tech",
    );
    assert_eq!(in_tech.body["status"], "waiting", "nobody serves tech");
    let in_billing = arranged(
        Caller::CustomerB.call(&api, Method::POST, "/chat/sessions", Some(body(&billing))).await,
        201,
        "open in billing",
    );
    assert_eq!(in_billing.body["agent_id"], "agent-bill");
    let general = open(&api, "cust-3", "low").await;
    assert_eq!(general["agent_id"], "agent-bill", "a session without a room goes to anyone");
    go_online(&api, "agent-any", 5).await;
    assert_eq!(session_agent(&api, &id_of(&in_tech)).await, "agent-any", "an agent of every room takes it");
}

async fn a_transfer_moves_the_session_tells_everyone_and_moves_the_load(backend: Backend) {
    let api = TestApi::start(backend).await;
    on_duty(&api, Caller::AgentX.id()).await;
    on_duty(&api, Caller::AgentY.id()).await;
    let session = switchboard_tests::open_session(&api, Caller::CustomerA, "transfer me").await;
    let assign = format!("/admin/chat-dashboard/sessions/{session}/assign");
    arranged(Caller::AgentX.call(&api, Method::POST, &assign, Some(json!({}))).await, 200, "X takes it");
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;
    customer.subscribe(&session).await;
    let mut xena = api.connect(&Caller::AgentX.token(&api)).await;
    xena.subscribe(&session).await;
    let mut yuri = api.connect(&Caller::AgentY.token(&api)).await;

    let path = format!("/admin/chat-dashboard/sessions/{session}/transfer");
    let reply = Caller::AgentX
        .call(
            &api,
            Method::POST,
            &path,
            Some(json!({"to_agent_id": "agent-yuri", "reason": "Yuri knows refunds"})),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        (reply.body["agent_id"].as_str(), reply.body["transfer_count"].as_u64()),
        (Some("agent-yuri"), Some(1))
    );

    for (who, socket) in [("customer", &mut customer), ("xena", &mut xena), ("yuri", &mut yuri)] {
        let updated = socket.expect("session.updated").await;
        assert_eq!(updated["session"]["agent_id"], "agent-yuri", "{who} learns of the transfer");
    }
    assert_eq!(state_of(&api, "agent-xena").await["active_sessions"], 0);
    assert_eq!(state_of(&api, "agent-yuri").await["active_sessions"], 1);
    // Yuri now writes to it; Xena no longer may.
    switchboard_tests::send(&api, Caller::AgentY, &session, "Hi, Yuri here").await;
    let body = json!({"session_id": session, "body": "still me?"});
    let refused = Caller::AgentX.call(&api, Method::POST, "/chat/messages", Some(body)).await;
    assert_eq!(refused.status, 404, "{refused:?}");
}

async fn waiting_customers_see_their_place_in_the_queue_and_an_estimate(backend: Backend) {
    let api = TestApi::start(backend).await;
    let first = open(&api, "cust-1", "normal").await;
    let second = open(&api, "cust-2", "normal").await;
    let urgent = open(&api, "cust-3", "urgent").await;
    assert_eq!((first["queue_position"].as_u64(), second["queue_position"].as_u64()), (Some(1), Some(2)));
    assert_eq!(urgent["queue_position"], 1, "urgent goes first");
    assert_eq!(first["estimated_wait_seconds"], Value::Null, "no agent online: no estimate");
    let second_id = second["id"].as_str().unwrap_or_default();
    let reread = api
        .as_user("cust-2", Role::Customer, Method::GET, &format!("/chat/sessions/{second_id}"), None)
        .await;
    assert_eq!(reread.body["queue_position"], 3, "the urgent one overtook it");

    // Two agents with room for one each take the first two; the third waits with an estimate:
    // position 1 × 600 s (no session closed today) ÷ 2 online places = 300 s.
    go_online(&api, "agent-1", 1).await;
    go_online(&api, "agent-2", 1).await;
    let now_waiting = api
        .as_user("cust-2", Role::Customer, Method::GET, &format!("/chat/sessions/{second_id}"), None)
        .await;
    assert_eq!(now_waiting.body["queue_position"], 1);
    assert_eq!(now_waiting.body["estimated_wait_seconds"], 300);
    let assigned = session(&api, urgent["id"].as_str().unwrap_or_default()).await;
    assert_eq!(
        (assigned["queue_position"].clone(), assigned["status"].clone()),
        (Value::Null, json!("active"))
    );
}

async fn a_closed_session_is_rated_once_and_the_rating_may_be_changed(backend: Backend) {
    let api = TestApi::start(backend).await;
    let world = switchboard_tests::assigned_session(&api).await;
    let path = format!("/chat/sessions/{}/rating", world.session);
    let early = Caller::CustomerA.call(&api, Method::POST, &path, Some(json!({"score": 5}))).await;
    assert_eq!((early.status, early.error_code()), (409, "session_not_closed"));
    close(&api, &world.session).await;

    let first =
        Caller::CustomerA.call(&api, Method::POST, &path, Some(json!({"score": 2, "comment": "slow"}))).await;
    assert_eq!(first.status, 201, "{first:?}");
    let changed = Caller::CustomerA.call(&api, Method::POST, &path, Some(json!({"score": 4}))).await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(changed.body["first_rated_at"], first.body["first_rated_at"]);
    let stored = session(&api, &world.session).await;
    assert_eq!(
        (stored["rating"]["score"].as_u64(), stored["rating"]["comment"].clone()),
        (Some(4), Value::Null)
    );
    api.settle().await;
    let mut admin = api.connect(&Caller::Admin.token(&api)).await;
    let figures = admin.request(json!({"action": "subscribe_dashboard"})).await;
    assert_eq!(
        figures["metrics"]["csat_today"],
        json!({"ratings": 1, "average": 4.0}),
        "a change replaces the rating"
    );
    // Someone else's session, or after 7 days, is refused (the window is checked in unit tests).
    let other = Caller::CustomerB.call(&api, Method::POST, &path, Some(json!({"score": 1}))).await;
    assert_eq!(other.status, 404);
}

async fn a_reopened_session_waits_again_and_is_routed(backend: Backend) {
    let api = TestApi::start(backend).await;
    let world = switchboard_tests::assigned_session(&api).await;
    let path = format!("/chat/sessions/{}/reopen", world.session);
    let open_one = Caller::CustomerA.call(&api, Method::POST, &path, None).await;
    assert_eq!((open_one.status, open_one.error_code()), (409, "session_not_closed"));
    close(&api, &world.session).await;
    assert_eq!(state_of(&api, "agent-xena").await["active_sessions"], 0, "closing frees the agent");

    let reopened = Caller::CustomerA.call(&api, Method::POST, &path, None).await;
    assert_eq!(reopened.status, 200, "{reopened:?}");
    assert_eq!(
        (reopened.body["status"].as_str(), reopened.body["reopen_count"].as_u64()),
        (Some("waiting"), Some(1))
    );
    assert_eq!(
        (reopened.body["agent_id"].clone(), reopened.body["first_response_at"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(reopened.body["queue_position"], 1);
    let by_agent = Caller::AgentX.call(&api, Method::POST, &path, None).await;
    assert_eq!(by_agent.status, 403, "agents do not reopen: {by_agent:?}");

    go_online(&api, "agent-yuri", 3).await;
    // Routing after the close may still be running from the change feed, holding the routing
    // lease: then it is the one that routes once more for Y.
    api.settle().await;
    assert_eq!(session_agent(&api, &world.session).await, "agent-yuri");
}

async fn the_live_dashboard_gets_the_figures_at_most_once_a_second_and_the_last_change(backend: Backend) {
    let api = TestApi::start(backend).await;
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;
    let refused = customer.request(json!({"action": "subscribe_dashboard"})).await;
    assert_eq!((refused["type"].as_str(), refused["code"].as_str()), (Some("error"), Some("forbidden")));

    let mut admin = api.connect(&Caller::Admin.token(&api)).await;
    let first = admin.request(json!({"action": "subscribe_dashboard"})).await;
    assert_eq!(first["type"], "dashboard.metrics", "{first}");
    assert_eq!(first["metrics"]["waiting"], 0);

    // Six sessions in a burst, then an agent comes on duty.
    for n in 0..6 {
        open(&api, &format!("cust-{n}"), "normal").await;
    }
    set_status(&api, "agent-watch", json!({"status": "away", "capacity": 3})).await;
    admin.barrier().await;
    let frames = admin.take("dashboard.metrics");
    assert!(!frames.is_empty(), "the changes reached the dashboard");
    let times: Vec<time::OffsetDateTime> = frames
        .iter()
        .filter_map(|f| f["metrics"]["generated_at"].as_str())
        .filter_map(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
        .collect();
    assert_eq!(times.len(), frames.len());
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= time::Duration::milliseconds(999),
            "frames closer than a second: {times:?}"
        );
    }
    let last = frames.last().cloned().unwrap_or_default();
    assert_eq!(
        (last["metrics"]["waiting"].as_u64(), last["metrics"]["agents_away"].as_u64()),
        (Some(6), Some(1)),
        "{last}"
    );
    let presence = admin.take("presence");
    assert!(
        presence
            .iter()
            .any(|p| p["user_id"] == "agent-watch" && p["status"] == "away" && p["agent"]["capacity"] == 3),
        "the agent's presence reached the dashboard: {presence:?}"
    );
}

async fn an_agent_who_loses_their_last_connection_shows_away_then_returns_online(backend: Backend) {
    let api = TestApi::start(backend).await;
    let mut admin = api.connect(&Caller::Admin.token(&api)).await;
    admin.request(json!({"action": "subscribe_dashboard"})).await;
    go_online(&api, "agent-flaky", 2).await;
    assert_eq!(admin.expect("presence").await["status"], "online");

    let socket = api.connect(&api.token("agent-flaky", Role::Agent)).await;
    socket.close().await;
    let away = admin.expect("presence").await;
    assert_eq!(
        (away["user_id"].as_str(), away["status"].as_str()),
        (Some("agent-flaky"), Some("away")),
        "{away}"
    );
    assert!(away["agent"]["away_until"].is_string(), "{away}");
    // Away agents are not routed.
    let waiting = open(&api, "cust-1", "normal").await;
    assert_eq!(waiting["status"], "waiting");
    let mut customer = api.connect(&api.token("cust-1", Role::Customer)).await;
    customer.subscribe(waiting["id"].as_str().unwrap_or_default()).await;

    // A connection within the grace period brings them back online, and routes to them.
    let _back = api.connect(&api.token("agent-flaky", Role::Agent)).await;
    let online = admin.expect("presence").await;
    assert_eq!(online["status"], "online", "{online}");
    assert_eq!(customer.expect("session.updated").await["session"]["agent_id"], "agent-flaky");
    assert_eq!(state_of(&api, "agent-flaky").await["active_sessions"], 1, "the waiting session was routed");
}

async fn bad_floor_requests_are_refused_and_change_nothing(backend: Backend) {
    let api = TestApi::start(backend).await;
    let world = switchboard_tests::assigned_session(&api).await;
    let waiting = switchboard_tests::open_session(&api, Caller::CustomerB, "still waiting").await;
    set_status(&api, "agent-off", json!({"status": "offline"})).await;
    let before = snapshot(&api, &[&world.session, &waiting]).await;
    let states_before = (state_of(&api, "agent-xena").await, state_of(&api, "agent-yuri").await);

    let transfer = format!("/admin/chat-dashboard/sessions/{}/transfer", world.session);
    let yuri = format!("/admin/agents/{}", Caller::AgentY.id());
    let too_many_rooms: Vec<String> = (10..31).map(|n| format!("01JD00000000000000000000{n}")).collect();
    let rating = format!("/chat/sessions/{}/rating", world.session);
    let cases: Vec<(Caller, Method, String, Value, u16, &str)> = vec![
        (
            Caller::AgentY,
            Method::PUT,
            STATUS.into(),
            json!({"status": "online", "capacity": 0}),
            422,
            "validation_failed",
        ),
        (
            Caller::AgentY,
            Method::PUT,
            STATUS.into(),
            json!({"status": "online", "capacity": 51}),
            422,
            "validation_failed",
        ),
        (Caller::AgentY, Method::PUT, STATUS.into(), json!({"status": "busy"}), 422, "validation_failed"),
        (
            Caller::AgentY,
            Method::PUT,
            STATUS.into(),
            json!({"status": "online", "mood": "good"}),
            422,
            "validation_failed",
        ),
        (
            Caller::AgentY,
            Method::PUT,
            STATUS.into(),
            json!({"status": "online", "rooms": ["01JD0000000000000000000099"]}),
            404,
            "room_not_found",
        ),
        (Caller::CustomerA, Method::PUT, STATUS.into(), json!({"status": "online"}), 403, "forbidden"),
        (Caller::Admin, Method::PUT, STATUS.into(), json!({"status": "online"}), 403, "forbidden"),
        (Caller::Admin, Method::PATCH, yuri.clone(), json!({}), 422, "validation_failed"),
        (Caller::Admin, Method::PATCH, yuri.clone(), json!({"capacity": 0}), 422, "validation_failed"),
        (Caller::Admin, Method::PATCH, yuri.clone(), json!({"capacity": 51}), 422, "validation_failed"),
        (Caller::Admin, Method::PATCH, yuri.clone(), json!({"capacity": "3"}), 422, "validation_failed"),
        (
            Caller::Admin,
            Method::PATCH,
            yuri.clone(),
            json!({"capacity": 3, "status": "offline"}),
            422,
            "validation_failed",
        ),
        (
            Caller::Admin,
            Method::PATCH,
            yuri.clone(),
            json!({"rooms": too_many_rooms}),
            422,
            "validation_failed",
        ),
        (
            Caller::Admin,
            Method::PATCH,
            yuri.clone(),
            json!({"capacity": 3, "rooms": ["01JD0000000000000000000099"]}),
            404,
            "room_not_found",
        ),
        (
            Caller::Admin,
            Method::PATCH,
            "/admin/agents/agent-nobody".into(),
            json!({"capacity": 3}),
            404,
            "agent_not_found",
        ),
        (Caller::AgentX, Method::PATCH, yuri.clone(), json!({"capacity": 3}), 403, "forbidden"),
        (
            Caller::Admin,
            Method::POST,
            transfer.clone(),
            json!({"to_agent_id": "agent-off", "reason": "r"}),
            409,
            "agent_offline",
        ),
        (
            Caller::Admin,
            Method::POST,
            transfer.clone(),
            json!({"to_agent_id": "agent-nobody", "reason": "r"}),
            404,
            "agent_not_found",
        ),
        (
            Caller::Admin,
            Method::POST,
            transfer.clone(),
            json!({"to_agent_id": "agent-xena", "reason": "r"}),
            422,
            "transfer_to_self",
        ),
        (
            Caller::AgentX,
            Method::POST,
            transfer.clone(),
            json!({"to_agent_id": "agent-yuri"}),
            422,
            "validation_failed",
        ),
        (
            Caller::AgentX,
            Method::POST,
            transfer.clone(),
            json!({"to_agent_id": "agent-yuri", "reason": ""}),
            422,
            "validation_failed",
        ),
        (
            Caller::AgentY,
            Method::POST,
            transfer.clone(),
            json!({"to_agent_id": "agent-yuri", "reason": "mine now"}),
            404,
            "session_not_found",
        ),
        (
            Caller::CustomerA,
            Method::POST,
            transfer.clone(),
            json!({"to_agent_id": "agent-yuri", "reason": "r"}),
            403,
            "forbidden",
        ),
        (
            Caller::Admin,
            Method::POST,
            format!("/admin/chat-dashboard/sessions/{waiting}/transfer"),
            json!({"to_agent_id": "agent-yuri", "reason": "r"}),
            409,
            "session_not_active",
        ),
        (Caller::CustomerA, Method::POST, rating.clone(), json!({"score": 5}), 409, "session_not_closed"),
        (Caller::CustomerB, Method::POST, rating.clone(), json!({"score": 5}), 404, "session_not_found"),
        (Caller::AgentX, Method::POST, rating.clone(), json!({"score": 5}), 403, "forbidden"),
        (Caller::CustomerA, Method::POST, rating.clone(), json!({"score": 0}), 422, "validation_failed"),
        (Caller::CustomerA, Method::POST, rating.clone(), json!({"score": 6}), 422, "validation_failed"),
        (Caller::CustomerA, Method::POST, rating.clone(), json!({"score": 4.5}), 422, "validation_failed"),
        (
            Caller::CustomerA,
            Method::POST,
            rating.clone(),
            json!({"score": 4, "comment": "x".repeat(1001)}),
            422,
            "validation_failed",
        ),
    ];
    let mut problems = Vec::new();
    for (caller, method, path, body, status, code) in cases {
        let reply = caller.call(&api, method.clone(), &path, Some(body.clone())).await;
        if (reply.status, reply.error_code()) != (status, code) {
            problems
                .push(format!("{caller:?} {method} {path} {body}: expected {status} {code}, got {reply:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        snapshot(&api, &[&world.session, &waiting]).await,
        before,
        "a refused request changed something"
    );
    assert_eq!((state_of(&api, "agent-xena").await, state_of(&api, "agent-yuri").await), states_before);
    let unique: BTreeSet<String> = assignments(&api).await.into_values().collect();
    assert_eq!(unique.len(), 1);
}

async fn an_admin_raises_an_agents_capacity_and_a_waiting_session_is_routed_to_them(backend: Backend) {
    // Arrange: Bill is online with room for one session, which he has; a second one waits.
    let api = TestApi::start(backend).await;
    go_online(&api, "agent-bill", 1).await;
    let first = open(&api, "cust-1", "normal").await;
    assert_eq!(first["agent_id"], "agent-bill", "{first}");
    let second = open(&api, "cust-2", "normal").await;
    assert_eq!(second["status"], "waiting", "{second}");

    // Act
    let reply = admin_sets(&api, "agent-bill", json!({"capacity": 2})).await;

    // Assert: the answer and his own view show the new capacity, still online; the waiting
    // session is his; the audit log names the admin's change.
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!((&reply.body["capacity"], &reply.body["status"]), (&json!(2), &json!("online")), "{reply:?}");
    assert_eq!(session_agent(&api, second["id"].as_str().unwrap_or_default()).await, "agent-bill");
    let state = state_of(&api, "agent-bill").await;
    assert_eq!((&state["capacity"], &state["active_sessions"]), (&json!(2), &json!(2)), "{state}");
    let log = format!("/admin/audit-log?actor={}", Caller::Admin.id());
    let logged = arranged(Caller::Admin.call(&api, Method::GET, &log, None).await, 200, "read the audit log");
    let changes: Vec<&Value> = logged.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|event| event["kind"] == "agent.settings_changed")
        .collect();
    assert_eq!(changes.len(), 1, "{}", logged.body);
    assert_eq!(changes[0]["target"], "agent:agent-bill", "{}", logged.body);
}

async fn an_admin_lowers_an_agents_capacity_and_sets_their_rooms_without_changing_their_status(
    backend: Backend,
) {
    // Arrange: Bill is online with room for three and holds one session; there is a room.
    let api = TestApi::start(backend).await;
    let billing = id_of(&arranged(
        Caller::Admin.call(&api, Method::POST, "/chat/rooms", Some(json!({"name": "Billing"}))).await,
        201,
        "a room",
    ));
    go_online(&api, "agent-bill", 3).await;
    let first = open(&api, "cust-1", "normal").await;
    assert_eq!(first["agent_id"], "agent-bill", "{first}");

    // Act
    let reply = admin_sets(&api, "agent-bill", json!({"capacity": 1, "rooms": [billing]})).await;

    // Assert: he keeps his session and his status, serves Billing only, and is full.
    assert_eq!(reply.status, 200, "{reply:?}");
    let state = state_of(&api, "agent-bill").await;
    assert_eq!(
        (&state["status"], &state["capacity"], &state["rooms"], &state["active_sessions"]),
        (&json!("online"), &json!(1), &json!([billing]), &json!(1)),
        "{state}"
    );
    let next = open(&api, "cust-2", "normal").await;
    assert_eq!(next["status"], "waiting", "he is full: {next}");
}

async fn an_admins_capacity_change_and_the_agents_own_status_change_at_once_both_hold(backend: Backend) {
    // Arrange: Bill is away with room for three.
    let api = TestApi::start(backend).await;
    set_status(&api, "agent-bill", json!({"status": "away", "capacity": 3})).await;

    // Act: the admin's change and Bill's own race for his state, several times over.
    for capacity in 4..8 {
        let status = if capacity % 2 == 0 { "offline" } else { "away" };
        let (admin, own) = futures::join!(
            admin_sets(&api, "agent-bill", json!({"capacity": capacity})),
            set_status(&api, "agent-bill", json!({"status": status})),
        );

        // Assert: neither write is lost, whichever went first.
        assert_eq!((admin.status, own.status), (200, 200), "{admin:?} {own:?}");
        let state = state_of(&api, "agent-bill").await;
        assert_eq!((&state["capacity"], &state["status"]), (&json!(capacity), &json!(status)), "{state}");
    }
}

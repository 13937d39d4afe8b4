//! The dashboard's read side over real HTTP, on SQLite and on DynamoDB (moto): the overview, agent
//! performance, the active and waiting lists, satisfaction, message analytics, the health probe
//! and the audit log — figures checked against sequences arranged through the API and times read
//! from the replies (no sleeps), every bad input refused with its code, and no read writing.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_tests::{arranged, id_of, on_duty, open_session, send, Backend, Caller, Reply, TestApi};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

switchboard_tests::on_both_backends!(
    the_overview_counts_the_floor_after_a_known_sequence,
    agent_performance_matches_the_times_of_an_assigned_answered_transferred_and_closed_session,
    a_reopened_session_restarts_the_first_response_clock_and_an_unanswered_wait_is_counted,
    the_waiting_list_is_in_routing_order_with_positions_across_pages,
    admins_see_every_active_session_and_agents_their_own,
    the_active_list_shows_unread_counts_the_last_message_and_the_wait_for_a_reply,
    staff_serving_a_session_list_its_customers_earlier_sessions_and_nobody_else_does,
    satisfaction_shows_the_distribution_response_rate_days_and_comments,
    a_year_of_satisfaction_lists_its_few_comments_with_a_few_store_calls,
    message_analytics_counts_each_hour_by_role_and_messages_per_session,
    the_health_probe_answers_without_a_token,
    the_audit_log_filters_by_session_actor_and_range_and_pages_newest_first,
    bad_ranges_limits_cursors_and_filters_are_refused_with_their_code,
    customers_are_refused_and_agents_kept_to_what_they_may_see,
    dashboard_reads_write_nothing,
);

const DASHBOARD: &str = "/admin/chat-dashboard";

// ---------------------------------------------------------------------------------------------
// Arranging
// ---------------------------------------------------------------------------------------------

/// A time from a reply.
fn at(value: &Value) -> OffsetDateTime {
    let text = value.as_str().unwrap_or_else(|| panic!("a time, got {value}"));
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{text} is not RFC 3339: {e}"))
}

/// Seconds from `from` to `to`, to the millisecond, as the metric engine reports them.
fn seconds(from: OffsetDateTime, to: OffsetDateTime) -> f64 {
    (to - from).whole_milliseconds() as f64 / 1000.0
}

/// `agent` sets their status (and capacity).
async fn set_status(api: &TestApi, agent: &str, status: &str, capacity: u32) {
    let body = json!({"status": status, "capacity": capacity});
    let reply =
        api.as_user(agent, switchboard_shared::domain::Role::Agent, Method::PUT, "/agent/status", Some(body));
    arranged(reply.await, 200, "an agent sets their status");
    // Routing to them runs from the change feed.
    api.settle().await;
}

/// A customer (any id) opens a session of a priority; returns the reply's body.
async fn open(api: &TestApi, customer: &str, priority: &str) -> Value {
    let body = json!({"subject": format!("{priority} question from {customer}"),
        "priority": switchboard_tests::customer_priority(priority)});
    let reply = api.as_user(
        customer,
        switchboard_shared::domain::Role::Customer,
        Method::POST,
        "/chat/sessions",
        Some(body),
    );
    let opened = arranged(reply.await, 201, "a customer opens a session").body;
    if priority == "urgent" {
        return switchboard_tests::raise_to_urgent(api, &opened).await;
    }
    opened
}

/// `agent` takes the waiting `session`; returns the session.
async fn take(api: &TestApi, agent: Caller, session: &str) -> Value {
    let path = format!("{DASHBOARD}/sessions/{session}/assign");
    arranged(agent.call(api, Method::POST, &path, Some(json!({}))).await, 200, "an agent takes a session")
        .body
}

/// `caller` closes `session`; returns the session.
async fn close(api: &TestApi, caller: &str, role: switchboard_shared::domain::Role, session: &str) -> Value {
    let path = format!("/chat/sessions/{session}/close");
    arranged(api.as_user(caller, role, Method::POST, &path, None).await, 200, "a session is closed").body
}

/// The customer rates their closed session.
async fn rate(api: &TestApi, customer: &str, session: &str, score: u8, comment: Option<&str>) -> Value {
    let path = format!("/chat/sessions/{session}/rating");
    let body = json!({"score": score, "comment": comment});
    let reply =
        api.as_user(customer, switchboard_shared::domain::Role::Customer, Method::POST, &path, Some(body));
    let reply = reply.await;
    assert!(matches!(reply.status, 200 | 201), "arranging the world: a customer rates: {reply:?}");
    reply.body
}

/// A GET as a caller, which must succeed; returns the body.
async fn read(api: &TestApi, caller: Caller, path: &str) -> Value {
    let reply = caller.call(api, Method::GET, path, None).await;
    assert_eq!(reply.status, 200, "{caller:?} GET {path}: {reply:?}");
    reply.body
}

fn items(body: &Value) -> &Vec<Value> {
    body["items"].as_array().unwrap_or_else(|| panic!("a list has items: {body}"))
}

fn field<'a>(body: &'a Value, name: &str) -> Vec<&'a Value> {
    items(body).iter().map(|item| &item[name]).collect()
}

fn assert_refused(reply: &Reply, status: u16, code: &str, what: &str) {
    assert_eq!((reply.status, reply.error_code()), (status, code), "{what}: {reply:?}");
    assert!(reply.body["error"]["message"].is_string(), "{what}: the error explains itself: {reply:?}");
}

// ---------------------------------------------------------------------------------------------
// Overview
// ---------------------------------------------------------------------------------------------

async fn the_overview_counts_the_floor_after_a_known_sequence(backend: Backend) {
    // Arrange: X away with two sessions (one active, one closed and rated 4), Y online but full
    // (capacity 1, one active session), one session waiting.
    let api = TestApi::start(backend).await;
    on_duty(&api, Caller::AgentX.id()).await;
    on_duty(&api, Caller::AgentY.id()).await;
    let first = id_of(&api_reply(open(&api, Caller::CustomerA.id(), "normal").await));
    let second = id_of(&api_reply(open(&api, Caller::CustomerB.id(), "normal").await));
    let third = id_of(&api_reply(open(&api, "cust-dan", "high").await));
    take(&api, Caller::AgentX, &first).await;
    take(&api, Caller::AgentX, &second).await;
    take(&api, Caller::AgentY, &third).await;
    close(&api, Caller::AgentX.id(), Caller::AgentX.role(), &second).await;
    rate(&api, Caller::CustomerB.id(), &second, 4, None).await;
    set_status(&api, Caller::AgentY.id(), "online", 1).await;
    let waiting = open(&api, "cust-cat", "low").await;
    assert_eq!(waiting["status"], "waiting", "a full agent is given nothing: {waiting}");
    api.settle().await;

    // Act
    let overview = read(&api, Caller::Admin, &format!("{DASHBOARD}/overview")).await;

    // Assert
    assert_eq!(
        (&overview["waiting"], &overview["active"], &overview["closed_today"]),
        (&json!(1), &json!(2), &json!(1)),
        "{overview}"
    );
    assert_eq!((&overview["agents_online"], &overview["agents_away"]), (&json!(1), &json!(1)), "{overview}");
    assert_eq!(overview["csat_today"], json!({"ratings": 1, "average": 4.0}), "{overview}");
    let longest = overview["longest_wait_seconds"].as_f64().expect("a session waits");
    let waited = seconds(at(&waiting["created_at"]), at(&overview["generated_at"]));
    assert!((0.0..=waited + 0.001).contains(&longest), "longest wait {longest}, the session waited {waited}");
    // Agents see the same floor.
    let seen_by_agent = read(&api, Caller::AgentY, &format!("{DASHBOARD}/overview")).await;
    assert_eq!(seen_by_agent["waiting"], 1, "{seen_by_agent}");
}

/// `open` returns a body; `id_of` takes a reply.
fn api_reply(body: Value) -> Reply {
    Reply { status: 201, body }
}

// ---------------------------------------------------------------------------------------------
// Agent performance
// ---------------------------------------------------------------------------------------------

async fn agent_performance_matches_the_times_of_an_assigned_answered_transferred_and_closed_session(
    backend: Backend,
) {
    // Arrange: A opens (t0), X takes it (t1), answers (t2), transfers it to Y (t3), Y closes (t4).
    let api = TestApi::start(backend).await;
    on_duty(&api, Caller::AgentX.id()).await;
    on_duty(&api, Caller::AgentY.id()).await;
    let opened = open(&api, Caller::CustomerA.id(), "normal").await;
    let session = id_of(&api_reply(opened.clone()));
    let t0 = at(&opened["created_at"]);
    let t1 = at(&take(&api, Caller::AgentX, &session).await["assigned_at"]);
    let answer = Caller::AgentX
        .call(&api, Method::POST, "/chat/messages", Some(json!({"session_id": session, "body": "on it"})))
        .await;
    let t2 = at(&arranged(answer, 201, "X answers").body["created_at"]);
    let transfer = json!({"to_agent_id": Caller::AgentY.id(), "reason": "billing specialist"});
    let path = format!("{DASHBOARD}/sessions/{session}/transfer");
    arranged(Caller::AgentX.call(&api, Method::POST, &path, Some(transfer)).await, 200, "X transfers to Y");
    let t4 = at(&close(&api, Caller::AgentY.id(), Caller::AgentY.role(), &session).await["closed_at"]);
    let history =
        read(&api, Caller::Admin, &format!("/admin/audit-log?session_id={session}&limit=200")).await;
    let t3 = items(&history)
        .iter()
        .find(|event| event["kind"] == "session.transferred")
        .map(|event| at(&event["at"]))
        .expect("the transfer is in the audit log");

    // Act
    let path = format!("{DASHBOARD}/agent-performance");
    let performance = read(&api, Caller::Admin, &path).await;

    // Assert: the team
    let team = &performance["team"];
    assert_eq!(
        (&team["sessions_created"], &team["sessions_closed"], &team["transfers"]),
        (&json!(1), &json!(1), &json!(1))
    );
    assert_eq!(team["wait"]["average_seconds"], seconds(t0, t1), "wait = assigned - queued: {team}");
    assert_eq!(team["first_response"]["average_seconds"], seconds(t0, t2), "FRT from the queueing: {team}");
    assert_eq!(
        team["handle"]["average_seconds"],
        seconds(t1, t4),
        "handle = close - first assignment: {team}"
    );
    assert_eq!(team["agents"], json!([]), "per-agent figures are in `agents`");
    // Per agent: X took it, answered and handed it on; Y received it and closed it.
    let agents: BTreeMap<String, Value> = performance["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|report| (report["agent_id"].as_str().unwrap_or_default().to_owned(), report.clone()))
        .collect();
    let x = &agents[Caller::AgentX.id()];
    let y = &agents[Caller::AgentY.id()];
    assert_eq!(
        (&x["assigned"], &x["transfers_out"], &x["handled"], &x["first_responses"], &x["closed"]),
        (&json!(1), &json!(1), &json!(1), &json!(1), &json!(0)),
        "{x}"
    );
    assert_eq!(x["first_response"]["average_seconds"], seconds(t0, t2), "{x}");
    assert_eq!(x["handle"]["average_seconds"], seconds(t1, t3), "X held it until the transfer: {x}");
    assert_eq!((&y["transfers_in"], &y["handled"], &y["closed"]), (&json!(1), &json!(1), &json!(1)), "{y}");
    assert_eq!(y["handle"]["average_seconds"], seconds(t3, t4), "Y held it from the transfer: {y}");
    assert_eq!(agents.len(), 2, "{performance}");

    // An agent sees only themselves, next to the team.
    let own = read(&api, Caller::AgentY, &path).await;
    assert_eq!(own["agents"], json!([y]), "{own}");
    for figure in ["sessions_created", "sessions_closed", "transfers", "wait", "first_response", "handle"] {
        assert_eq!(own["team"][figure], team[figure], "agents see the team's {figure}: {own}");
    }
    // A range before it all has nothing.
    let earlier = format!("{path}?from=2026-01-01&to=2026-01-02");
    assert_eq!(read(&api, Caller::Admin, &earlier).await["team"]["sessions_created"], 0);
}

// ---------------------------------------------------------------------------------------------
// Waiting and active lists
// ---------------------------------------------------------------------------------------------

async fn the_waiting_list_is_in_routing_order_with_positions_across_pages(backend: Backend) {
    // Arrange: nobody on duty, four sessions of mixed priority.
    let api = TestApi::start(backend).await;
    let low = id_of(&api_reply(open(&api, "cust-1", "low").await));
    let urgent_first = id_of(&api_reply(open(&api, "cust-2", "urgent").await));
    let normal = id_of(&api_reply(open(&api, "cust-3", "normal").await));
    let urgent_second = id_of(&api_reply(open(&api, "cust-4", "urgent").await));

    // Act
    let path = format!("{DASHBOARD}/waiting-sessions?limit=2");
    let first = read(&api, Caller::AgentY, &path).await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = read(&api, Caller::AgentY, &format!("{path}&cursor={cursor}")).await;

    // Assert: urgent before normal before low, first come first served within a priority.
    let ids: Vec<&Value> = field(&first, "id").into_iter().chain(field(&second, "id")).collect();
    assert_eq!(ids, [&json!(urgent_first), &json!(urgent_second), &json!(normal), &json!(low)]);
    let positions: Vec<&Value> =
        field(&first, "queue_position").into_iter().chain(field(&second, "queue_position")).collect();
    assert_eq!(positions, [&json!(1), &json!(2), &json!(3), &json!(4)]);
    assert_eq!(second["next_cursor"], Value::Null, "{second}");
    let priorities: Vec<&Value> = field(&first, "priority");
    assert_eq!(priorities, [&json!("urgent"), &json!("urgent")]);
    // Nobody is online to estimate from; the oldest session has waited longest.
    assert!(field(&first, "estimated_wait_seconds").iter().all(|e| e.is_null()), "{first}");
    let waits: Vec<f64> =
        field(&second, "wait_seconds").iter().map(|w| w.as_f64().expect("a wait")).collect();
    assert!(waits[1] >= waits[0] && waits[0] >= 0.0, "low (oldest) waited longer than normal: {waits:?}");
    let as_admin = read(&api, Caller::Admin, &path).await;
    assert_eq!(field(&as_admin, "id"), field(&first, "id"), "admins see the same queue");
}

async fn admins_see_every_active_session_and_agents_their_own(backend: Backend) {
    // Arrange: X serves A (A wrote last, unanswered); Y serves B and has answered.
    let api = TestApi::start(backend).await;
    on_duty(&api, Caller::AgentX.id()).await;
    on_duty(&api, Caller::AgentY.id()).await;
    let a = open_session(&api, Caller::CustomerA, "late parcel").await;
    let b = open_session(&api, Caller::CustomerB, "refund").await;
    let a_taken = take(&api, Caller::AgentX, &a).await;
    take(&api, Caller::AgentY, &b).await;
    send(&api, Caller::CustomerA, &a, "hello?").await;
    send(&api, Caller::CustomerB, &b, "hello?").await;
    send(&api, Caller::AgentY, &b, "here to help").await;
    open_session(&api, Caller::CustomerA, "still waiting").await;

    // Act
    let path = format!("{DASHBOARD}/active-sessions");
    let all = read(&api, Caller::Admin, &path).await;
    let xs = read(&api, Caller::AgentX, &path).await;
    let ys = read(&api, Caller::AgentY, &path).await;

    // Assert
    let mut ids: Vec<&str> = field(&all, "id").iter().filter_map(|id| id.as_str()).collect();
    ids.sort_unstable();
    let mut expected = vec![a.as_str(), b.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected, "admins see every active session and no waiting one");
    assert_eq!(field(&xs, "id"), [&json!(a)]);
    assert_eq!(field(&ys, "id"), [&json!(b)]);
    assert_eq!(field(&xs, "waiting_for_agent_reply"), [&json!(true)], "A's message is unanswered");
    assert_eq!(field(&ys, "waiting_for_agent_reply"), [&json!(false)], "Y answered B");
    // A follow-up after the first answer waits for an answer again.
    send(&api, Caller::CustomerB, &b, "one more thing").await;
    let ys = read(&api, Caller::AgentY, &path).await;
    assert_eq!(field(&ys, "waiting_for_agent_reply"), [&json!(true)], "B's follow-up is unanswered");
    let handled = xs["items"][0]["handle_seconds_so_far"].as_f64().expect("a handle time");
    assert!(handled >= 0.0, "{xs}");
    assert_eq!(xs["items"][0]["assigned_at"], a_taken["assigned_at"], "the item is the session");
}

async fn the_active_list_shows_unread_counts_the_last_message_and_the_wait_for_a_reply(backend: Backend) {
    // Arrange: X serves A, who wrote twice; X has read nothing yet.
    let api = TestApi::start(backend).await;
    on_duty(&api, Caller::AgentX.id()).await;
    let session = open_session(&api, Caller::CustomerA, "late parcel").await;
    take(&api, Caller::AgentX, &session).await;
    let first = send(&api, Caller::CustomerA, &session, "hello?").await;
    let second = send(&api, Caller::CustomerA, &session, "is anyone there?").await;
    let path = format!("{DASHBOARD}/active-sessions");
    let messages = read(&api, Caller::AgentX, &format!("/chat/messages/{session}")).await;
    let first_sent = at(&messages["items"][0]["created_at"]);

    // Act and assert: both unread, the last one shown, waiting since the first.
    let list = read(&api, Caller::AgentX, &path).await;
    let item = &list["items"][0];
    assert_eq!(item["unread_count"], 2, "{list}");
    assert_eq!(item["last_message"]["id"], json!(second), "{list}");
    assert_eq!(item["last_message"]["preview"], "is anyone there?", "{list}");
    assert_eq!(item["last_message"]["sender_role"], "customer", "{list}");
    assert_eq!(at(&item["waiting_since"]), first_sent, "the wait began with the first unanswered message");

    // Act: X reads the first and answers.
    let marked = Caller::AgentX
        .call(
            &api,
            Method::POST,
            &format!("/chat/sessions/{session}/read"),
            Some(json!({"message_id": first})),
        )
        .await;
    arranged(marked, 200, "the agent reads the first message");
    send(&api, Caller::AgentX, &session, "here to help").await;

    // Assert: one unread left (the admin sees the agent's count too), nobody waits for a reply.
    for caller in [Caller::AgentX, Caller::Admin] {
        let list = read(&api, caller, &path).await;
        let item = &list["items"][0];
        assert_eq!(item["unread_count"], 1, "{caller:?}: {list}");
        assert_eq!(item["last_message"]["preview"], "here to help", "{caller:?}: {list}");
        assert_eq!(item["last_message"]["sender_role"], "agent", "{caller:?}: {list}");
        assert_eq!(item["waiting_since"], Value::Null, "{caller:?}: {list}");
    }

    // Act: X reads the second; the customer deletes a message.
    let marked = Caller::AgentX
        .call(
            &api,
            Method::POST,
            &format!("/chat/sessions/{session}/read"),
            Some(json!({"message_id": second})),
        )
        .await;
    arranged(marked, 200, "the agent reads the second message");
    let third = send(&api, Caller::CustomerA, &session, "my card number is 4111").await;
    let deleted = Caller::CustomerA
        .call(&api, Method::DELETE, &format!("/chat/messages/{session}/{third}"), None)
        .await;
    arranged(deleted, 200, "the customer deletes a message");

    // Assert: nothing unread (a deleted message is not), and no deleted text is shown.
    let list = read(&api, Caller::AgentX, &path).await;
    let item = &list["items"][0];
    assert_eq!(item["unread_count"], 0, "{list}");
    assert_eq!(item["last_message"]["id"], json!(third), "{list}");
    assert_eq!(item["last_message"]["preview"], Value::Null, "{list}");
    assert!(!list.to_string().contains("4111"), "{list}");
}

async fn staff_serving_a_session_list_its_customers_earlier_sessions_and_nobody_else_does(backend: Backend) {
    // Arrange: A had a session with X, closed and rated 4, and opens another that X takes; B's
    // session is with Y.
    let api = TestApi::start(backend).await;
    on_duty(&api, Caller::AgentX.id()).await;
    on_duty(&api, Caller::AgentY.id()).await;
    let customer = switchboard_shared::domain::Role::Customer;
    let earlier = open_session(&api, Caller::CustomerA, "late parcel").await;
    take(&api, Caller::AgentX, &earlier).await;
    close(&api, Caller::CustomerA.id(), customer, &earlier).await;
    rate(&api, Caller::CustomerA.id(), &earlier, 4, Some("fine")).await;
    let now = open_session(&api, Caller::CustomerA, "late again").await;
    take(&api, Caller::AgentX, &now).await;
    let others = open_session(&api, Caller::CustomerB, "refund").await;
    take(&api, Caller::AgentY, &others).await;
    let path = format!("/chat/sessions?customer_of={now}");

    // Act
    let for_agent = Caller::AgentX.call(&api, Method::GET, &path, None).await;
    let for_admin = Caller::Admin.call(&api, Method::GET, &path, None).await;
    let closed_only = read(&api, Caller::AgentX, &format!("{path}&status=closed")).await;

    // Assert: the customer's sessions, newest first, with the rating; never another customer's.
    for reply in [&for_agent, &for_admin] {
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(field(&reply.body, "id"), [&json!(now), &json!(earlier)], "{reply:?}");
        assert_eq!(reply.body["items"][1]["rating"]["score"], 4, "{reply:?}");
    }
    assert_eq!(field(&closed_only, "id"), [&json!(earlier)]);
    // Y serves none of A's sessions; A's own token may not ask; a bad id is a 400.
    let refused = Caller::AgentY.call(&api, Method::GET, &path, None).await;
    assert_refused(&refused, 404, "session_not_found", "an agent who cannot read the session");
    let refused = Caller::CustomerB.call(&api, Method::GET, &path, None).await;
    assert_refused(&refused, 403, "forbidden", "a customer");
    let mine = Caller::CustomerA.call(&api, Method::GET, &path, None).await;
    assert_refused(&mine, 403, "forbidden", "the customer themselves");
    let bad = Caller::AgentX.call(&api, Method::GET, "/chat/sessions?customer_of=nope", None).await;
    assert_refused(&bad, 400, "invalid_parameter", "a malformed session id");
    let b_history = read(&api, Caller::AgentY, &format!("/chat/sessions?customer_of={others}")).await;
    assert_eq!(field(&b_history, "id"), [&json!(others)], "Y sees B's, not A's");
}

// ---------------------------------------------------------------------------------------------
// Satisfaction
// ---------------------------------------------------------------------------------------------

async fn satisfaction_shows_the_distribution_response_rate_days_and_comments(backend: Backend) {
    // Arrange: four sessions closed by their customers, three rated 5 "great", 4, 2 "slow".
    let api = TestApi::start(backend).await;
    let customer = switchboard_shared::domain::Role::Customer;
    let mut rated = Vec::new();
    for (who, score, comment) in
        [("cust-1", 5, Some("great")), ("cust-2", 4, None), ("cust-3", 2, Some("slow"))]
    {
        let session = id_of(&api_reply(open(&api, who, "normal").await));
        close(&api, who, customer, &session).await;
        rated.push((session.clone(), rate(&api, who, &session, score, comment).await));
    }
    let unrated = id_of(&api_reply(open(&api, "cust-4", "normal").await));
    close(&api, "cust-4", customer, &unrated).await;
    api.settle().await;

    // Act
    let report = read(&api, Caller::Admin, &format!("{DASHBOARD}/satisfaction")).await;

    // Assert
    assert_eq!(report["sessions_closed"], 4, "{report}");
    assert_eq!(report["csat"]["distribution"], json!([0, 1, 0, 1, 1]), "{report}");
    assert_eq!(report["csat"]["rated"], 3);
    assert_eq!(report["csat"]["average"], 3.6667, "(5 + 4 + 2) / 3");
    assert_eq!(report["csat"]["response_rate"], 0.75, "3 of 4 closes rated");
    let days = report["days"].as_array().expect("days");
    let today = &days[days.len() - 1];
    let rated_on = at(&rated[2].1["rated_at"]).date();
    assert_eq!(today["day"], switchboard_shared::repo::stats::day_text(rated_on), "{report}");
    assert_eq!((&today["ratings"], &today["average"]), (&json!(3), &json!(3.6667)), "{today}");
    assert!(days[..days.len() - 1].iter().all(|day| day["ratings"] == 0), "{report}");
    let comments: Vec<(&Value, &Value, &Value)> = items_of(&report["recent_comments"])
        .iter()
        .map(|c| (&c["session_id"], &c["score"], &c["comment"]))
        .collect();
    assert_eq!(
        comments,
        [(&json!(rated[2].0), &json!(2), &json!("slow")), (&json!(rated[0].0), &json!(5), &json!("great"))],
        "the latest comments first; a rating without words is left out"
    );
}

async fn a_year_of_satisfaction_lists_its_few_comments_with_a_few_store_calls(backend: Backend) {
    // Arrange: three sessions rated today — "too slow" then changed to 5 without words, 4 "kind",
    // 2 "lost" — and the year of days before rolled up (none had a rating).
    let api = TestApi::start(backend).await;
    let customer = switchboard_shared::domain::Role::Customer;
    let mut sessions = Vec::new();
    for who in ["cust-1", "cust-2", "cust-3"] {
        let session = id_of(&api_reply(open(&api, who, "normal").await));
        close(&api, who, customer, &session).await;
        sessions.push(session);
    }
    rate(&api, "cust-1", &sessions[0], 1, Some("too slow")).await;
    rate(&api, "cust-1", &sessions[0], 5, None).await;
    rate(&api, "cust-2", &sessions[1], 4, Some("kind")).await;
    rate(&api, "cust-3", &sessions[2], 2, Some("lost")).await;
    let today = OffsetDateTime::now_utc().date();
    let first = today - time::Duration::days(365);
    let yesterday = today - time::Duration::days(1);
    switchboard_shared::analytics::rollup::rollup_days(
        api.store.as_ref(),
        first,
        yesterday,
        OffsetDateTime::now_utc(),
        &mut |_| {},
    )
    .await
    .expect("roll the year up");
    api.store.reset();

    // Act
    let report =
        read(&api, Caller::Admin, &format!("{DASHBOARD}/satisfaction?from={first}&to={today}")).await;

    // Assert
    let calls = api.store.calls();
    let comments: Vec<(&Value, &Value, &Value)> = items_of(&report["recent_comments"])
        .iter()
        .map(|c| (&c["session_id"], &c["score"], &c["comment"]))
        .collect();
    assert_eq!(
        comments,
        [(&json!(sessions[2]), &json!(2), &json!("lost")), (&json!(sessions[1]), &json!(4), &json!("kind"))],
        "the latest comments first; words a later rating dropped are gone"
    );
    assert!(api.store.total() <= 12, "a year's comments are one Query, not one per day: {calls:?}");
}

fn items_of(list: &Value) -> &Vec<Value> {
    list.as_array().unwrap_or_else(|| panic!("an array: {list}"))
}

// ---------------------------------------------------------------------------------------------
// Message analytics
// ---------------------------------------------------------------------------------------------

async fn message_analytics_counts_each_hour_by_role_and_messages_per_session(backend: Backend) {
    // Arrange: in session A, the customer writes twice and X once; in B the customer once.
    let api = TestApi::start(backend).await;
    on_duty(&api, Caller::AgentX.id()).await;
    let a = open_session(&api, Caller::CustomerA, "late parcel").await;
    let b = open_session(&api, Caller::CustomerB, "refund").await;
    take(&api, Caller::AgentX, &a).await;
    let mut sent: Vec<(OffsetDateTime, &str)> = Vec::new();
    for (caller, session, role) in [
        (Caller::CustomerA, &a, "customer"),
        (Caller::AgentX, &a, "agent"),
        (Caller::CustomerA, &a, "customer"),
        (Caller::CustomerB, &b, "customer"),
    ] {
        let reply = caller
            .call(&api, Method::POST, "/chat/messages", Some(json!({"session_id": session, "body": "hi"})))
            .await;
        sent.push((at(&arranged(reply, 201, "a message").body["created_at"]), role));
    }
    let today = sent[0].0.date();
    let yesterday = today.previous_day().expect("a day before");
    // The hourly counters follow from the change feed.
    api.settle().await;

    // Act
    let path = format!(
        "{DASHBOARD}/message-analytics?from={}&to={}",
        switchboard_shared::repo::stats::day_text(yesterday),
        switchboard_shared::repo::stats::day_text(today)
    );
    let report = read(&api, Caller::Admin, &path).await;

    // Assert: 48 hours, each message in the hour it was sent, per role.
    let hours = report["by_hour"].as_array().expect("hours");
    assert_eq!(hours.len(), 48, "every hour of the two days is listed");
    let mut expected: BTreeMap<String, BTreeMap<&str, i64>> = BTreeMap::new();
    for (when, role) in &sent {
        let hour = when.replace_time(time::Time::from_hms(when.hour(), 0, 0).expect("an hour"));
        let key = hour.format(&Rfc3339).expect("format").replace('Z', ".000Z");
        *expected.entry(key).or_default().entry(role).or_default() += 1;
    }
    for hour in hours {
        let key = hour["hour"].as_str().expect("an hour").to_owned();
        let want = expected.get(&key).cloned().unwrap_or_default();
        for role in ["customer", "agent", "admin"] {
            assert_eq!(hour[role], want.get(role).copied().unwrap_or(0), "{role} messages at {key}: {hour}");
        }
    }
    assert_eq!(report["totals"], json!({"customer": 3, "agent": 1, "admin": 0}), "{report}");
    assert_eq!(
        report["per_session"],
        json!({"sessions_with_messages": 2, "messages": 4, "average": 2.0, "median": 1, "p90": 3}),
        "sessions with 3 and 1 messages"
    );
}

// ---------------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------------

async fn the_health_probe_answers_without_a_token(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let path = format!("{DASHBOARD}/health");

    // Act
    let anonymous = api.call_with_header(Method::GET, &path, None, None).await;
    let garbage = api.call_with_header(Method::GET, &path, Some("Bearer not-a-jwt"), None).await;

    // Assert: public, and telling nothing but the version and whether the store answers.
    for reply in [&anonymous, &garbage] {
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.body["status"], "ok");
        assert_eq!(reply.body["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(reply.body["store"]["reachable"], true);
        assert!(reply.body["store"]["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{reply:?}");
        let fields: Vec<&String> = reply.body.as_object().expect("an object").keys().collect();
        assert_eq!(fields, ["status", "store", "version"], "nothing else is disclosed");
    }
    // Every other dashboard route still wants a token.
    let overview = api.call_with_header(Method::GET, &format!("{DASHBOARD}/overview"), None, None).await;
    assert_refused(&overview, 401, "unauthorized", "the overview without a token");
}

// ---------------------------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------------------------

async fn the_audit_log_filters_by_session_actor_and_range_and_pages_newest_first(backend: Backend) {
    // Arrange: X comes on duty, A and B open sessions, X takes A's.
    let api = TestApi::start(backend).await;
    on_duty(&api, Caller::AgentX.id()).await;
    let a = open_session(&api, Caller::CustomerA, "late parcel").await;
    let b = open_session(&api, Caller::CustomerB, "refund").await;
    let taken = take(&api, Caller::AgentX, &a).await;
    let log = "/admin/audit-log";

    // Act and assert: one session, newest first.
    let of_a = read(&api, Caller::Admin, &format!("{log}?session_id={a}")).await;
    assert_eq!(
        field(&of_a, "kind"),
        [&json!("session.assigned"), &json!("session.queued"), &json!("session.created")]
    );
    assert!(field(&of_a, "session_id").iter().all(|id| **id == json!(a)), "{of_a}");

    // One actor: X's status change and assignment, across targets.
    let by_x = read(&api, Caller::Admin, &format!("{log}?actor={}", Caller::AgentX.id())).await;
    assert_eq!(field(&by_x, "kind"), [&json!("session.assigned"), &json!("agent.status_changed")]);
    assert!(field(&by_x, "actor_id").iter().all(|id| **id == json!(Caller::AgentX.id())));

    // Both filters combine.
    let x_on_b =
        read(&api, Caller::Admin, &format!("{log}?actor={}&session_id={b}", Caller::AgentX.id())).await;
    assert_eq!(items(&x_on_b).len(), 0, "X did nothing to B's session: {x_on_b}");
    let b_by_b =
        read(&api, Caller::Admin, &format!("{log}?actor={}&session_id={b}", Caller::CustomerB.id())).await;
    assert_eq!(field(&b_by_b, "kind"), [&json!("session.queued"), &json!("session.created")]);

    // A range: from the assignment on, only the assignment.
    let assigned_at = taken["assigned_at"].as_str().expect("assigned_at");
    let since = read(&api, Caller::Admin, &format!("{log}?from={}", assigned_at.replace(':', "%3A"))).await;
    assert_eq!(field(&since, "kind"), [&json!("session.assigned")], "{since}");
    let before = read(&api, Caller::Admin, &format!("{log}?to={}", assigned_at.replace(':', "%3A"))).await;
    assert_eq!(items(&before).len(), 5, "everything before the assignment: {before}");
    let future = read(&api, Caller::Admin, &format!("{log}?from=2100-01-01&to=2100-01-02")).await;
    assert_eq!(items(&future).len(), 0, "{future}");

    // Every event by day, in pages of two, newest first, none twice.
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let page_path = match &cursor {
            Some(c) => format!("{log}?limit=2&cursor={c}"),
            None => format!("{log}?limit=2"),
        };
        let page = read(&api, Caller::Admin, &page_path).await;
        assert!(items(&page).len() <= 2, "{page}");
        seen.extend(field(&page, "id").iter().filter_map(|id| id.as_str().map(str::to_owned)));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "1 status change + 2 × (created, queued) + 1 assignment: {seen:?}");
    let mut newest_first = seen.clone();
    newest_first.sort_unstable_by(|x, y| y.cmp(x));
    assert_eq!(seen, newest_first, "newest first, none twice");
}

// ---------------------------------------------------------------------------------------------
// Bad input and roles
// ---------------------------------------------------------------------------------------------

async fn bad_ranges_limits_cursors_and_filters_are_refused_with_their_code(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let session = open_session(&api, Caller::CustomerA, "anything").await;
    let ranged = [
        format!("{DASHBOARD}/agent-performance"),
        format!("{DASHBOARD}/satisfaction"),
        format!("{DASHBOARD}/message-analytics"),
        "/admin/audit-log".to_owned(),
    ];
    let ranges = [
        ("from=2026-03-10&to=2026-03-01", "invalid_range"),
        ("from=2026-03-01T10:00:00Z&to=2026-03-01T10:00:00Z", "invalid_range"),
        ("from=2025-01-01&to=2026-01-03", "range_too_long"),
        ("from=2024-01-01", "range_too_long"),
        ("from=yesterday", "invalid_parameter"),
        ("to=2026-02-30", "invalid_parameter"),
        ("from=2026-03-01T25:00:00Z", "invalid_parameter"),
    ];
    for path in &ranged {
        for (query, code) in ranges {
            // Act
            let reply = Caller::Admin.call(&api, Method::GET, &format!("{path}?{query}"), None).await;

            // Assert
            assert_refused(&reply, 400, code, &format!("{path}?{query}"));
        }
    }
    let listed = [
        format!("{DASHBOARD}/active-sessions"),
        format!("{DASHBOARD}/waiting-sessions"),
        "/admin/audit-log".into(),
    ];
    for path in &listed {
        for (query, code) in [
            ("limit=0", "invalid_limit"),
            ("limit=201", "invalid_limit"),
            ("cursor=garbage", "invalid_cursor"),
        ] {
            let reply = Caller::Admin.call(&api, Method::GET, &format!("{path}?{query}"), None).await;
            assert_refused(&reply, 400, code, &format!("{path}?{query}"));
        }
    }
    let audit = [("actor=bad%23id", "invalid_parameter"), ("session_id=not-a-session", "invalid_parameter")];
    for (query, code) in audit {
        let reply = Caller::Admin.call(&api, Method::GET, &format!("/admin/audit-log?{query}"), None).await;
        assert_refused(&reply, 400, code, query);
    }
    // A cursor of one listing does not continue another.
    let of_session =
        read(&api, Caller::Admin, &format!("/admin/audit-log?session_id={session}&limit=1")).await;
    let cursor = of_session["next_cursor"].as_str().expect("the session has two events");
    let by_day =
        Caller::Admin.call(&api, Method::GET, &format!("/admin/audit-log?cursor={cursor}"), None).await;
    assert_refused(&by_day, 400, "invalid_cursor", "a session cursor on the day listing");
    let day_page = read(&api, Caller::Admin, "/admin/audit-log?limit=1").await;
    let day_cursor = day_page["next_cursor"].as_str().expect("two events today");
    let path = format!("/admin/audit-log?session_id={session}&cursor={day_cursor}");
    let reply = Caller::Admin.call(&api, Method::GET, &path, None).await;
    assert_refused(&reply, 400, "invalid_cursor", "a day cursor on a session listing");
    let path = format!("/admin/audit-log?from=2026-01-01&to=2026-01-02&cursor={day_cursor}");
    let reply = Caller::Admin.call(&api, Method::GET, &path, None).await;
    assert_refused(&reply, 400, "invalid_cursor", "a day cursor outside the range");
}

async fn customers_are_refused_and_agents_kept_to_what_they_may_see(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let every = [
        ("overview", true),
        ("agent-performance", true),
        ("active-sessions", true),
        ("waiting-sessions", true),
        ("satisfaction", false),
        ("message-analytics", false),
    ];
    for (endpoint, agents_may) in every {
        let path = format!("{DASHBOARD}/{endpoint}");

        // Act
        let customer = Caller::CustomerA.call(&api, Method::GET, &path, None).await;
        let agent = Caller::AgentX.call(&api, Method::GET, &path, None).await;

        // Assert
        assert_refused(&customer, 403, "forbidden", &format!("a customer reads {endpoint}"));
        if agents_may {
            assert_eq!(agent.status, 200, "an agent reads {endpoint}: {agent:?}");
        } else {
            assert_refused(&agent, 403, "forbidden", &format!("an agent reads {endpoint}"));
        }
    }
    for caller in [Caller::CustomerA, Caller::AgentX] {
        let reply = caller.call(&api, Method::GET, "/admin/audit-log", None).await;
        assert_refused(&reply, 403, "forbidden", &format!("{caller:?} reads the audit log"));
    }
    // An agent without activity sees themselves with zeros, and no one else.
    let own = read(&api, Caller::AgentY, &format!("{DASHBOARD}/agent-performance")).await;
    assert_eq!(field_of(&own["agents"], "agent_id"), [&json!(Caller::AgentY.id())]);
    assert_eq!(own["agents"][0]["handled"], 0);
}

fn field_of<'a>(list: &'a Value, name: &str) -> Vec<&'a Value> {
    items_of(list).iter().map(|item| &item[name]).collect()
}

async fn dashboard_reads_write_nothing(backend: Backend) {
    // Arrange: a world with a bit of everything.
    let api = TestApi::start(backend).await;
    on_duty(&api, Caller::AgentX.id()).await;
    let session = open_session(&api, Caller::CustomerA, "late parcel").await;
    take(&api, Caller::AgentX, &session).await;
    send(&api, Caller::CustomerA, &session, "hello?").await;
    open_session(&api, Caller::CustomerB, "refund").await;
    let reads = [
        (Caller::Admin, format!("{DASHBOARD}/overview")),
        (Caller::Admin, format!("{DASHBOARD}/agent-performance")),
        (Caller::AgentX, format!("{DASHBOARD}/agent-performance")),
        (Caller::Admin, format!("{DASHBOARD}/active-sessions")),
        (Caller::AgentX, format!("{DASHBOARD}/active-sessions")),
        (Caller::Admin, format!("{DASHBOARD}/waiting-sessions")),
        (Caller::Admin, format!("{DASHBOARD}/satisfaction")),
        (Caller::Admin, format!("{DASHBOARD}/message-analytics")),
        (Caller::Admin, format!("{DASHBOARD}/health")),
        (Caller::Admin, "/admin/audit-log".to_owned()),
        (Caller::Admin, format!("/admin/audit-log?session_id={session}")),
        (Caller::Admin, format!("/admin/audit-log?actor={}", Caller::AgentX.id())),
    ];
    for (caller, path) in reads {
        api.store.reset();

        // Act
        read(&api, caller, &path).await;

        // Assert
        let calls = api.store.calls();
        let writes: Vec<_> =
            calls.iter().filter(|(op, _)| !matches!(**op, "get" | "batch_get" | "query")).collect();
        assert!(writes.is_empty(), "{caller:?} GET {path} wrote: {calls:?}");
    }
}

async fn a_reopened_session_restarts_the_first_response_clock_and_an_unanswered_wait_is_counted(
    backend: Backend,
) {
    // Arrange: A opens (t0), X takes it and answers (t1), X closes it (t2); A reopens it (t3),
    // X takes it again, and A gives up: closed before any answer (t4).
    let api = TestApi::start(backend).await;
    on_duty(&api, Caller::AgentX.id()).await;
    let opened = open(&api, Caller::CustomerA.id(), "high").await;
    let session = id_of(&api_reply(opened.clone()));
    let t0 = at(&opened["created_at"]);
    let first_taken = at(&take(&api, Caller::AgentX, &session).await["assigned_at"]);
    let answer = Caller::AgentX
        .call(&api, Method::POST, "/chat/messages", Some(json!({"session_id": session, "body": "done"})))
        .await;
    let t1 = at(&arranged(answer, 201, "X answers").body["created_at"]);
    let t2 = at(&close(&api, Caller::AgentX.id(), Caller::AgentX.role(), &session).await["closed_at"]);
    let reopen = format!("/chat/sessions/{session}/reopen");
    let reopened =
        arranged(Caller::CustomerA.call(&api, Method::POST, &reopen, None).await, 200, "A reopens");
    let t3 = at(&reopened.body["queued_at"]);
    let retaken = at(&take(&api, Caller::AgentX, &session).await["assigned_at"]);
    let t4 = at(&close(&api, Caller::CustomerA.id(), Caller::CustomerA.role(), &session).await["closed_at"]);

    // Act
    let team = read(&api, Caller::Admin, &format!("{DASHBOARD}/agent-performance")).await["team"].clone();

    // Assert: two episodes; one answered wait (from the creation), one unanswered (the reopen).
    assert_eq!(
        (&team["sessions_created"], &team["sessions_reopened"], &team["sessions_closed"]),
        (&json!(1), &json!(1), &json!(2))
    );
    assert_eq!(team["first_response"]["count"], 1, "{team}");
    assert_eq!(team["first_response"]["average_seconds"], seconds(t0, t1), "{team}");
    assert_eq!(team["unanswered"], 1, "the reopened wait got no answer: {team}");
    assert_eq!(team["wait"]["count"], 2, "{team}");
    // Handle time per episode: its first assignment to its close.
    let handle = team["handle"]["average_seconds"].as_f64().unwrap_or_default();
    let expected = (seconds(first_taken, t2) + seconds(retaken, t4)) / 2.0;
    assert!((handle - expected).abs() <= 0.001, "handle {handle}, expected {expected}: {team}");
    assert_eq!(team["handle"]["count"], 2);
    assert_eq!(team["resolution"]["reopened"], 1, "the first close was reopened within 7 days: {team}");
    assert!(t3 >= t2);
}

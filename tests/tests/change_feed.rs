//! The change feed: reactions that left the request path (the day's counters of messages and
//! sessions, pushes to participants who are not connected, routing after a close or transfer)
//! happen from the store's feed, once per change however often a record is delivered, and a
//! record whose reactions keep failing is kept for admins while the feed moves on.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::changes::{failed, runner};
use switchboard_shared::domain::Role;
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::repo::stats;
use switchboard_shared::store::ItemStore;
use switchboard_shared::App;
use switchboard_tests::{
    arranged, assigned_session, fresh_store, id_of, on_both_backends, open_feed, read_feed, send, Backend,
    Caller, Posting, TestApi,
};

on_both_backends!(
    each_message_is_counted_once_after_the_feed_is_drained,
    every_record_delivered_twice_changes_nothing_twice,
    records_delivered_again_in_other_batches_are_counted_once,
    a_burst_of_sessions_in_one_batch_shows_the_dashboard_its_figures_once,
    every_session_record_delivered_twice_counts_and_pushes_once,
    closing_routes_the_next_waiting_session_from_the_feed,
    a_record_whose_reactions_keep_failing_is_kept_as_a_failed_change_and_the_feed_moves_on,
    a_day_counts_what_every_shard_and_the_days_single_item_counted,
);

/// Today's messages by role, as an admin's message analytics show them.
async fn todays_messages(api: &TestApi) -> Value {
    let path = "/admin/chat-dashboard/message-analytics";
    let reply = Caller::Admin.call(api, Method::GET, path, None).await;
    arranged(reply, 200, "the admin reads the message analytics").body["totals"].clone()
}

async fn each_message_is_counted_once_after_the_feed_is_drained(backend: Backend) {
    // Arrange: a customer's and an agent's message, and one more from the customer.
    let api = TestApi::start(backend).await;
    let world = assigned_session(&api).await;
    send(&api, Caller::CustomerA, &world.session, "still there?").await;

    // Act
    api.settle().await;

    // Assert
    assert_eq!(todays_messages(&api).await, json!({"customer": 2, "agent": 1, "admin": 0}));
}

async fn every_record_delivered_twice_changes_nothing_twice(backend: Backend) {
    // Arrange: a gateway that runs no consumer, so the test delivers the records itself.
    let (store, dir, feed_of) = fresh_store(backend).await;
    let api = TestApi::start_feeding(backend, Posting::ManagementApi, Arc::clone(&store), dir, None).await;
    let device = json!({"token": format!("tok-{}", ulid::Ulid::new()), "platform": "android"});
    let registered =
        Caller::AgentX.call(&api, Method::POST, "/notifications/devices/register", Some(device)).await;
    arranged(registered, 200, "agent X registers a phone");
    let world = assigned_session(&api).await;
    send(&api, Caller::CustomerA, &world.session, "still there?").await;
    assert_eq!(
        todays_messages(&api).await,
        json!({"customer": 0, "agent": 0, "admin": 0}),
        "not counted yet"
    );
    let feed = open_feed(feed_of).await;
    let records = read_feed(feed.as_ref()).await;
    let reacting = App::new(store, Arc::new(ApiGatewayRealtime::for_endpoint(&api.root)));

    // Act: every record twice.
    for delivery in 1..=2 {
        let outcome = runner::process(&reacting, &records).await;
        assert_eq!((outcome.handled, outcome.failed), (records.len(), 0), "delivery {delivery}");
    }

    // Assert: each message counted once; agent X, not connected, pushed once for the burst.
    assert_eq!(todays_messages(&api).await, json!({"customer": 2, "agent": 1, "admin": 0}));
    let logs = Caller::AgentX.call(&api, Method::GET, "/notifications/delivery-logs", None).await;
    let logs = arranged(logs, 200, "agent X reads their pushes").body["items"].clone();
    assert_eq!(logs.as_array().map(Vec::len), Some(1), "{logs}");
    assert_eq!(logs[0]["category"], "chat_message", "{logs}");
}

async fn records_delivered_again_in_other_batches_are_counted_once(backend: Backend) {
    // Arrange: a gateway that runs no consumer; an assigned session with three messages.
    let (store, dir, feed_of) = fresh_store(backend).await;
    let api = TestApi::start_feeding(backend, Posting::ManagementApi, Arc::clone(&store), dir, None).await;
    let world = assigned_session(&api).await;
    send(&api, Caller::CustomerA, &world.session, "still there?").await;
    let records = read_feed(open_feed(feed_of).await.as_ref()).await;
    let reacting = App::new(Arc::clone(&store), Arc::new(ApiGatewayRealtime::for_endpoint(&api.root)));
    let half = records.len() / 2;

    // Act: as a stream does after failures — the first half in batches of two, then a batch
    // that starts at a record counted before and goes on to new ones, one that ends where no
    // earlier one did, and everything again.
    let deliveries = records[..half]
        .chunks(2)
        .chain([&records[half - 1..], &records[1..half + 1], &records[..]])
        .collect::<Vec<_>>();
    for (delivery, batch) in deliveries.into_iter().enumerate() {
        let outcome = runner::process(&reacting, batch).await;
        assert_eq!((outcome.handled, outcome.failed), (batch.len(), 0), "delivery {delivery}");
    }

    // Assert: each message, the session's creation and its assignment counted once.
    assert_eq!(todays_messages(&api).await, json!({"customer": 2, "agent": 1, "admin": 0}));
    let today = time::OffsetDateTime::now_utc().date();
    let day = stats::day(store.as_ref(), today).await.expect("read today's counters");
    assert_eq!((day.get("created"), day.get("assigned")), (1, 1));
}

async fn a_burst_of_sessions_in_one_batch_shows_the_dashboard_its_figures_once(backend: Backend) {
    // Arrange: a gateway that runs no consumer; an admin watches the dashboard; five customers
    // open sessions, so five records of the batch move the figures.
    let (store, dir, feed_of) = fresh_store(backend).await;
    let api = TestApi::start_feeding(backend, Posting::ManagementApi, Arc::clone(&store), dir, None).await;
    let mut admin = api.connect(&Caller::Admin.token(&api)).await;
    admin.request(json!({"action": "subscribe_dashboard"})).await;
    for customer in 1..=5 {
        let body = json!({"subject": "help"});
        let reply = api
            .as_user(
                &format!("cust-burst-{customer}"),
                Role::Customer,
                Method::POST,
                "/chat/sessions",
                Some(body),
            )
            .await;
        arranged(reply, 201, "a customer opens a session");
    }
    let records = read_feed(open_feed(feed_of).await.as_ref()).await;
    let reacting = App::new(Arc::clone(&store), Arc::new(ApiGatewayRealtime::for_endpoint(&api.root)));

    // Act: the records in one batch.
    let outcome = runner::process(&reacting, &records).await;
    admin.barrier().await;

    // Assert: one set of figures, carrying all five.
    assert_eq!((outcome.handled, outcome.failed), (records.len(), 0));
    let figures = admin.take("dashboard.metrics");
    assert_eq!(figures.len(), 1, "{figures:?}");
    assert_eq!(figures[0]["metrics"]["waiting"], 5, "{figures:?}");
}

/// Registers a phone of `caller` with a token of its own.
async fn register_phone(api: &TestApi, caller: Caller) {
    let device = json!({"token": format!("tok-{}", ulid::Ulid::new()), "platform": "ios"});
    let registered = caller.call(api, Method::POST, "/notifications/devices/register", Some(device)).await;
    arranged(registered, 200, "a participant registers a phone");
}

/// The categories of a user's pushes (newest first) and the session status each announced.
async fn pushes_of(api: &TestApi, caller: Caller) -> Vec<(String, String)> {
    let logs = caller.call(api, Method::GET, "/notifications/delivery-logs", None).await;
    let logs = arranged(logs, 200, "a user reads their pushes").body["items"].clone();
    let status = |log: &Value| {
        let apns = log["payload"]["APNS"].as_str().and_then(|text| serde_json::from_str::<Value>(text).ok());
        apns.and_then(|apns| apns["status"].as_str().map(str::to_owned)).unwrap_or_default()
    };
    logs.as_array()
        .into_iter()
        .flatten()
        .map(|log| (log["category"].as_str().unwrap_or_default().to_owned(), status(log)))
        .collect()
}

async fn every_session_record_delivered_twice_counts_and_pushes_once(backend: Backend) {
    // Arrange: a gateway that runs no consumer. The customer and agent Y have phones and no
    // socket; agent X takes the session, an admin transfers it to Y, Y closes it, the customer
    // rates it.
    let (store, dir, feed) = fresh_store(backend).await;
    let api = TestApi::start_feeding(backend, Posting::ManagementApi, Arc::clone(&store), dir, None).await;
    register_phone(&api, Caller::CustomerA).await;
    register_phone(&api, Caller::AgentY).await;
    let world = assigned_session(&api).await;
    let session = world.session;
    let transfer = format!("/admin/chat-dashboard/sessions/{session}/transfer");
    let body = json!({"to_agent_id": Caller::AgentY.id(), "reason": "a parcel specialist"});
    arranged(Caller::Admin.call(&api, Method::POST, &transfer, Some(body)).await, 200, "the admin transfers");
    let close = format!("/chat/sessions/{session}/close");
    arranged(Caller::AgentY.call(&api, Method::POST, &close, None).await, 200, "agent Y closes it");
    let rating = format!("/chat/sessions/{session}/rating");
    let body = json!({"score": 4});
    let rated = Caller::CustomerA.call(&api, Method::POST, &rating, Some(body)).await;
    assert!(matches!(rated.status, 200 | 201), "the customer rates: {rated:?}");
    let today = time::OffsetDateTime::now_utc().date();
    let day = stats::day(store.as_ref(), today).await.expect("read today's counters");
    assert_eq!((day.get("created"), day.get("closed")), (0, 0), "not counted in the request");
    assert_eq!(pushes_of(&api, Caller::CustomerA).await, Vec::new(), "not pushed in the request");
    let records = read_feed(open_feed(feed).await.as_ref()).await;
    // The gateway's own app: its push service keeps what it published, so the logs show it.
    let reacting = api.app.clone();

    // Act: every record twice.
    for delivery in 1..=2 {
        let outcome = runner::process(&reacting, &records).await;
        assert_eq!((outcome.handled, outcome.failed), (records.len(), 0), "delivery {delivery}");
    }

    // Assert: the day counts each step of the session once; the overview shows the close and
    // the rating once.
    let day = stats::day(store.as_ref(), today).await.expect("read today's counters");
    let counted = ["created", "assigned", "transferred", "closed", "handled", "ratings", "rating_4"]
        .map(|name| (name, day.get(name)));
    assert_eq!(counted.map(|(_, n)| n), [1; 7], "{counted:?}");
    let overview = Caller::Admin.call(&api, Method::GET, "/admin/chat-dashboard/overview", None).await;
    let overview = arranged(overview, 200, "the admin reads the overview").body;
    assert_eq!(overview["closed_today"], 1, "{overview}");
    assert_eq!(overview["csat_today"], json!({"ratings": 1, "average": 4.0}), "{overview}");
    // The customer heard of the assignment, the transfer and the close once each (and of the
    // agent's message); agent Y of the transfer only (Y closed it); agent X, who acted, nothing.
    let session_pushes = |pushes: Vec<(String, String)>| -> Vec<String> {
        pushes.into_iter().filter(|(category, _)| category == "session_update").map(|(_, s)| s).collect()
    };
    assert_eq!(session_pushes(pushes_of(&api, Caller::CustomerA).await), ["closed", "active", "active"]);
    assert_eq!(session_pushes(pushes_of(&api, Caller::AgentY).await), ["active"]);
    assert_eq!(pushes_of(&api, Caller::AgentX).await, Vec::new());
}

async fn closing_routes_the_next_waiting_session_from_the_feed(backend: Backend) {
    // Arrange: agent X online with room for one, serving a session; another customer waits.
    let api = TestApi::start(backend).await;
    let body = json!({"status": "online", "capacity": 1});
    let online = Caller::AgentX.call(&api, Method::PUT, "/agent/status", Some(body)).await;
    arranged(online, 200, "agent X goes online");
    let first = id_of(&arranged(
        Caller::CustomerA.call(&api, Method::POST, "/chat/sessions", Some(json!({"subject": "one"}))).await,
        201,
        "the first customer's session",
    ));
    let second = id_of(&arranged(
        Caller::CustomerB.call(&api, Method::POST, "/chat/sessions", Some(json!({"subject": "two"}))).await,
        201,
        "the second customer's session",
    ));
    let waiting = Caller::CustomerB.call(&api, Method::GET, &format!("/chat/sessions/{second}"), None).await;
    assert_eq!(waiting.body["status"], "waiting", "{waiting:?}");

    // Act: agent X closes the first; the feed's reactions run.
    let close = format!("/chat/sessions/{first}/close");
    arranged(Caller::AgentX.call(&api, Method::POST, &close, None).await, 200, "agent X closes the first");
    api.settle().await;

    // Assert: the freed place went to the waiting customer, recorded as routing's doing.
    let routed = Caller::CustomerB.call(&api, Method::GET, &format!("/chat/sessions/{second}"), None).await;
    assert_eq!(
        (&routed.body["status"], &routed.body["agent_id"]),
        (&json!("active"), &json!(Caller::AgentX.id())),
        "{routed:?}"
    );
}

async fn a_record_whose_reactions_keep_failing_is_kept_as_a_failed_change_and_the_feed_moves_on(
    backend: Backend,
) {
    // Arrange: a message item no reader can read (as a bad migration could leave), then a good one.
    let api = TestApi::start(backend).await;
    let session = id_of(&arranged(
        Caller::CustomerA.call(&api, Method::POST, "/chat/sessions", Some(json!({"subject": "hi"}))).await,
        201,
        "a customer opens a session",
    ));
    let broken = json!({"pk": format!("SESSION#{session}"), "sk": "MSG#broken", "body": 42});
    let Value::Object(broken) = broken else { unreachable!() };
    api.store.put(broken, None).await.expect("store the unreadable item");
    send(&api, Caller::CustomerA, &session, "a readable one").await;

    // Act
    api.settle().await;

    // Assert: the good message is counted; the bad record is kept, with the attempts made, for
    // admins only; a replay that fails again keeps it.
    assert_eq!(todays_messages(&api).await, json!({"customer": 1, "agent": 0, "admin": 0}));
    let listed = Caller::Admin.call(&api, Method::GET, "/admin/failed-changes", None).await;
    let kept = arranged(listed, 200, "the admin lists the failed changes").body["items"].clone();
    assert_eq!(kept.as_array().map(Vec::len), Some(1), "{kept}");
    assert_eq!(
        (&kept[0]["record"]["sk"], &kept[0]["attempts"]),
        (&json!("MSG#broken"), &json!(runner::MAX_ATTEMPTS))
    );
    let agent = Caller::AgentX.call(&api, Method::GET, "/admin/failed-changes", None).await;
    assert_eq!(agent.status, 403, "{agent:?}");
    let replay = format!("/admin/failed-changes/{}/replay", kept[0]["id"].as_str().unwrap_or_default());
    let again = Caller::Admin.call(&api, Method::POST, &replay, None).await;
    assert_eq!((again.status, again.error_code()), (409, "replay_failed"), "{again:?}");
    let (still, _) = failed::list(api.store.as_ref(), 50, None).await.expect("list the failed changes");
    assert_eq!(still.len(), 1, "kept after a failed replay");
    let unknown = Caller::Admin.call(&api, Method::POST, "/admin/failed-changes/nope/replay", None).await;
    assert_eq!((unknown.status, unknown.error_code()), (404, "failed_change_not_found"));
}

async fn a_day_counts_what_every_shard_and_the_days_single_item_counted(backend: Backend) {
    // Arrange: a day counted before shards had items of their own (one item, `<day>`), and the
    // day after.
    let (store, _dir, _) = fresh_store(backend).await;
    let day = time::macros::date!(2026 - 03 - 02);
    let next = day.next_day().expect("a next day");
    let at = |date: time::Date| date.with_hms(10, 0, 0).expect("a time").assume_utc();
    let mut old = switchboard_shared::store::Item::new();
    old.insert("pk".into(), json!("STATS#DAY"));
    old.insert("sk".into(), json!("2026-03-02"));
    old.insert("created".into(), json!(2));
    store.put(old, None).await.expect("the day's single item");
    let created = |sequence: &str, date| (sequence.to_owned(), vec![(at(date), stats::Change::Created)]);

    // Act: two shards count, one of them into both days, one of them twice the same records.
    stats::count_run(store.as_ref(), "shardId-a", vec![created("1", day), created("2", next)])
        .await
        .expect("a");
    stats::count_run(store.as_ref(), "shardId-b", vec![created("1", day), created("5", day)])
        .await
        .expect("b");
    stats::count_run(store.as_ref(), "shardId-b", vec![created("5", day), created("7", day)])
        .await
        .expect("b again");

    // Assert: each day is the sum of its items, each record counted once.
    assert_eq!(stats::day(store.as_ref(), day).await.expect("the day").get("created"), 2 + 1 + 3);
    assert_eq!(stats::day(store.as_ref(), next).await.expect("the next day").get("created"), 1);
    let both = stats::days(store.as_ref(), day, next).await.expect("both days");
    let created: Vec<(String, i64)> = both.iter().map(|d| (d.day.clone(), d.get("created"))).collect();
    assert_eq!(created, vec![("2026-03-02".to_owned(), 6), ("2026-03-03".to_owned(), 1)]);
}

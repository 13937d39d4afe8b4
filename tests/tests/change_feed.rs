//! The change feed: reactions that left the request path (the day's message counters) happen
//! from the store's feed, once per change however often a record is delivered, and a record
//! whose reactions keep failing is kept for admins while the feed moves on.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_local::feed::FeedOf;
use switchboard_shared::changes::dynamo::StreamFeed;
use switchboard_shared::changes::sqlite::SqliteFeed;
use switchboard_shared::changes::{failed, runner, ChangeFeed, ChangeRecord};
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::store::ItemStore;
use switchboard_shared::App;
use switchboard_tests::{
    arranged, assigned_session, fresh_store, id_of, on_both_backends, send, Backend, Caller, Posting, TestApi,
};

on_both_backends!(
    each_message_is_counted_once_after_the_feed_is_drained,
    every_record_delivered_twice_changes_nothing_twice,
    a_record_whose_reactions_keep_failing_is_kept_as_a_failed_change_and_the_feed_moves_on,
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

/// Every record of the feed so far, read to its end.
async fn read_all(feed: &dyn ChangeFeed) -> Vec<ChangeRecord> {
    let mut records = Vec::new();
    loop {
        let batch = feed.next_batch(runner::BATCH_SIZE).await.expect("read the feed");
        let Some(last) = batch.last() else { return records };
        feed.checkpoint(last).await.expect("checkpoint");
        records.extend(batch);
    }
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
    let feed: Box<dyn ChangeFeed> = match feed_of {
        FeedOf::Sqlite(sqlite) => Box::new(SqliteFeed::open(sqlite).await.expect("the feed")),
        FeedOf::Stream { endpoint, store } => {
            let arn = store.stream_arn().await.expect("the table's stream");
            Box::new(StreamFeed::for_endpoint(&endpoint, &arn).expect("the stream"))
        }
    };
    let records = read_all(feed.as_ref()).await;
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

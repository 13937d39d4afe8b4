//! Per-session facts kept by the change feed under each day of the session's history: they follow
//! its events however often and in whatever order the records come, and the analytics rollup reads
//! them (or, for sessions whose facts are missing or behind, reads their history and stores their
//! facts).

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;
use switchboard_shared::analytics::events::LifecycleEvent;
use switchboard_shared::analytics::{facts, rollup};
use switchboard_shared::changes::{runner, ChangeFeed};
use switchboard_shared::domain::SessionId;
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::repo::facts::DayFacts;
use switchboard_shared::repo::{events, facts as stored};
use switchboard_shared::store::ItemStore;
use switchboard_shared::App;
use switchboard_tests::{
    arranged, assigned_session, fresh_store, on_both_backends, open_feed, read_feed, Backend, Caller,
    Posting, TestApi,
};

on_both_backends!(
    a_closed_and_rated_session_has_its_facts_once_the_feed_is_drained,
    records_delivered_twice_and_backwards_leave_the_facts_of_the_whole_history,
    the_rollup_reads_a_sessions_facts_and_rebuilds_missing_ones_from_its_history,
    facts_behind_the_day_index_are_read_again_from_the_history,
);

/// Customer A's session with agent X, closed by the agent and rated 4 by the customer.
async fn closed_and_rated(api: &TestApi) -> SessionId {
    let world = assigned_session(api).await;
    let close = format!("/chat/sessions/{}/close", world.session);
    arranged(Caller::AgentX.call(api, Method::POST, &close, None).await, 200, "agent X closes it");
    let rate = format!("/chat/sessions/{}/rating", world.session);
    let rating = Caller::CustomerA.call(api, Method::POST, &rate, Some(json!({"score": 4}))).await;
    arranged(rating, 201, "customer A rates it");
    SessionId::parse(&world.session).expect("a session id")
}

/// The session's facts as its whole history gives them.
async fn facts_of_history(store: &dyn ItemStore, id: SessionId) -> stored::StoredFacts {
    let histories = events::of_sessions::<LifecycleEvent>(store, &[id]).await.expect("read the history");
    facts::of_history(id, &histories[0].1).expect("a history")
}

/// The facts stored under each day of `whole`'s history, and what they should be.
async fn kept_by_day(
    store: &dyn ItemStore,
    whole: &stored::StoredFacts,
) -> Vec<(Option<DayFacts>, Option<DayFacts>)> {
    let mut kept = Vec::new();
    for &day in whole.days.keys() {
        let id = whole.facts.session_id;
        kept.push((stored::get(store, day, &id).await.expect("read the facts"), whole.on(day)));
    }
    kept
}

/// A gateway that runs no consumer, its store, and a reader of its feed.
async fn without_consumer(backend: Backend) -> (TestApi, Arc<dyn ItemStore>, Arc<dyn ChangeFeed>) {
    let (store, dir, feed_of) = fresh_store(backend).await;
    let api = TestApi::start_feeding(backend, Posting::ManagementApi, Arc::clone(&store), dir, None).await;
    let feed = open_feed(feed_of).await;
    (api, store, feed)
}

async fn a_closed_and_rated_session_has_its_facts_once_the_feed_is_drained(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let session = closed_and_rated(&api).await;

    // Act
    api.settle().await;

    // Assert: under each day of the history, the facts of the whole history: one closed
    // episode, held by agent X, answered, rated 4.
    let whole = facts_of_history(api.store.as_ref(), session).await;
    for (kept, expected) in kept_by_day(api.store.as_ref(), &whole).await {
        assert!(kept.is_some(), "facts kept under each day");
        assert_eq!(kept, expected);
    }
    assert_eq!(whole.days.values().sum::<u64>(), whole.events, "every event on one of the days");
    let kept = whole;
    let episode = &kept.facts.episodes[0];
    assert_eq!(kept.facts.episodes.len(), 1);
    assert!(episode.closed_at.is_some() && episode.first_assigned_at.is_some(), "{episode:?}");
    assert_eq!(
        episode.closed_with_agent_id.as_ref().map(ToString::to_string).as_deref(),
        Some(Caller::AgentX.id())
    );
    assert!(episode.waits[0].first_response.is_some(), "agent X answered: {episode:?}");
    assert_eq!(episode.rating.as_ref().map(|rating| rating.score), Some(4));
}

async fn records_delivered_twice_and_backwards_leave_the_facts_of_the_whole_history(backend: Backend) {
    // Arrange: a gateway that runs no consumer, so the test delivers the records itself.
    let (api, store, feed) = without_consumer(backend).await;
    let session = closed_and_rated(&api).await;
    let mut records = read_feed(feed.as_ref()).await;
    let reacting = App::new(Arc::clone(&store), Arc::new(ApiGatewayRealtime::for_endpoint(&api.root)));
    let today = switchboard_shared::domain::now().date();
    assert_eq!(
        stored::get(store.as_ref(), today, &session).await.expect("read"),
        None,
        "none before the feed runs"
    );

    // Act: every record backwards (as shards may hand them over), then every record again.
    records.reverse();
    for delivery in 1..=2 {
        let outcome = runner::process(&reacting, &records).await;
        assert_eq!((outcome.handled, outcome.failed), (records.len(), 0), "delivery {delivery}");
    }

    // Assert: the facts of the whole history, which facts read from part of it never replace.
    let whole = facts_of_history(store.as_ref(), session).await;
    for (kept, expected) in kept_by_day(store.as_ref(), &whole).await {
        assert!(kept.is_some(), "facts kept under each day");
        assert_eq!(kept, expected);
    }
    let histories = events::of_sessions::<LifecycleEvent>(store.as_ref(), &[session]).await.expect("history");
    let older = facts::of_history(session, &histories[0].1[..2]).expect("two events");
    assert!(!stored::save(store.as_ref(), &older).await.expect("save"), "older facts are not written");
    for (kept, expected) in kept_by_day(store.as_ref(), &whole).await {
        assert_eq!(kept, expected, "still those of the whole history");
    }
}

async fn the_rollup_reads_a_sessions_facts_and_rebuilds_missing_ones_from_its_history(backend: Backend) {
    // Arrange: a session whose facts the feed never kept (as for sessions older than the feed).
    let (api, store, _feed) = without_consumer(backend).await;
    let session = closed_and_rated(&api).await;
    let now = switchboard_shared::domain::now();

    // Act: the scheduled rollup.
    rollup::run(store.as_ref(), now).await.expect("the rollup runs");

    // Assert: the day counts the session from its history, and its facts are kept now.
    let day = rollup::day(store.as_ref(), now.date()).await.expect("read the day").expect("built");
    assert_eq!((day.figures.sessions_created, day.figures.sessions_closed), (1, 1));
    assert_eq!(day.figures.csat.rated, 1);
    let whole = facts_of_history(store.as_ref(), session).await;
    for (kept, expected) in kept_by_day(store.as_ref(), &whole).await {
        assert!(kept.is_some(), "facts kept by the rollup");
        assert_eq!(kept, expected);
    }

    // Act: facts that say otherwise (no rating), as current as the history.
    let mut unrated = whole.clone();
    unrated.facts.episodes[0].rating = None;
    unrated.events += 1;
    assert!(stored::save(store.as_ref(), &unrated).await.expect("save"));
    rollup::run(store.as_ref(), now).await.expect("the rollup runs again");

    // Assert: the rollup counted what the facts say, not the history.
    let day = rollup::day(store.as_ref(), now.date()).await.expect("read the day").expect("built");
    assert_eq!((day.figures.sessions_created, day.figures.sessions_closed), (1, 1));
    assert_eq!(day.figures.csat.rated, 0, "read from the facts");
}

async fn facts_behind_the_day_index_are_read_again_from_the_history(backend: Backend) {
    // Arrange: the facts of the first two events only, as a feed that has fallen behind left them.
    let (api, store, _feed) = without_consumer(backend).await;
    let session = closed_and_rated(&api).await;
    let now = switchboard_shared::domain::now();
    let histories = events::of_sessions::<LifecycleEvent>(store.as_ref(), &[session]).await.expect("history");
    let behind = facts::of_history(session, &histories[0].1[..2]).expect("two events");
    assert!(stored::save(store.as_ref(), &behind).await.expect("save"));
    assert!(behind.facts.episodes[0].closed_at.is_none(), "not closed in the facts behind");

    // Act
    rollup::run(store.as_ref(), now).await.expect("the rollup runs");

    // Assert: the day counts the closed, rated session of the whole history, and the facts are
    // now those of the whole history.
    let day = rollup::day(store.as_ref(), now.date()).await.expect("read the day").expect("built");
    assert_eq!((day.figures.sessions_created, day.figures.sessions_closed), (1, 1));
    assert_eq!(day.figures.csat.rated, 1);
    let whole = facts_of_history(store.as_ref(), session).await;
    for (kept, expected) in kept_by_day(store.as_ref(), &whole).await {
        assert_eq!(kept, expected, "brought up to date by the rollup");
    }
}

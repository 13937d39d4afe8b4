//! The change feed in the local gateway: the consumer over the store's own feed (SQLite) or the
//! table's stream (a DynamoDB-compatible server), and `POST /local/feed/drain`, which answers
//! once every change written before it has had its reactions — what tests and scripts wait on
//! instead of sleeping.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use switchboard_shared::changes::consumer::{self, ConsumerHandle};
use switchboard_shared::changes::dynamo::StreamFeed;
use switchboard_shared::changes::sqlite::SqliteFeed;
use switchboard_shared::changes::ChangeFeed;
use switchboard_shared::domain::Role;
use switchboard_shared::store::dynamo::DynamoItemStore;
use switchboard_shared::store::sqlite::SqliteItemStore;
use switchboard_shared::App;

use crate::gateway::{gateway_error, Gateway};

/// Where the drain is served.
pub const DRAIN_PATH: &str = "/local/feed/drain";
/// How long a drain waits for the consumer before it answers 503 `feed_stalled`.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The store a feed is read from.
pub enum FeedOf {
    /// The SQLite store's feed table.
    Sqlite(SqliteItemStore),
    /// The stream of a table on a DynamoDB-compatible server at `endpoint`.
    Stream {
        /// The server.
        endpoint: String,
        /// The table.
        store: DynamoItemStore,
    },
}

/// Opens the feed of a store, from where its consumer stopped (SQLite) or from the stream's
/// oldest record (DynamoDB).
pub async fn open(feed: FeedOf) -> Result<Arc<dyn ChangeFeed>, String> {
    match feed {
        FeedOf::Sqlite(store) => {
            Ok(Arc::new(SqliteFeed::open(store).await.map_err(|e| format!("the change feed: {e}"))?))
        }
        FeedOf::Stream { endpoint, store } => {
            let arn =
                store.stream_arn().await.map_err(|e| format!("the table's stream at {endpoint}: {e}"))?;
            Ok(Arc::new(
                StreamFeed::for_endpoint(&endpoint, &arn).map_err(|e| format!("the table's stream: {e}"))?,
            ))
        }
    }
}

/// Starts the consumer of `feed`, running the reactions with `app`.
pub fn start(app: App, feed: Arc<dyn ChangeFeed>) -> ConsumerHandle {
    consumer::spawn(app, feed)
}

/// `POST /local/feed/drain` (admins): 204 once the consumer has processed every change written
/// before the call; 503 `feed_not_running` when this gateway runs no consumer (`--no-feed`),
/// 503 `feed_stalled` after [`DRAIN_TIMEOUT`].
pub(crate) async fn drain(State(gateway): State<Gateway>, headers: HeaderMap) -> Response {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match token.map(|token| gateway.verifier().verify(token)) {
        Some(Ok(principal)) if principal.role == Role::Admin => {}
        Some(Ok(_)) => {
            return gateway_error(StatusCode::FORBIDDEN, "forbidden", "only admins drain the feed")
        }
        _ => {
            return gateway_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid bearer token is required",
            )
        }
    }
    let Some(feed) = gateway.feed() else {
        return gateway_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "feed_not_running",
            "this gateway runs no change feed consumer (--no-feed)",
        );
    };
    match tokio::time::timeout(DRAIN_TIMEOUT, feed.drain()).await {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(_)) => gateway_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "feed_not_running",
            "the change feed's consumer stopped",
        ),
        Err(_) => gateway_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "feed_stalled",
            "the change feed's consumer did not catch up in time; see the gateway's log",
        ),
    }
}

//! The change feed: every write of the table comes back as a [`ChangeRecord`] (DynamoDB Streams
//! in AWS, the SQLite store's own feed table locally), becomes typed [`Effect`]s, and one runner
//! hands each effect to the reactions that follow from it — counters, and later pushes, routing
//! and facts — off the request path. A reaction never calls another: it may only return further
//! effects, which the runner hands out in turn.
//!
//! Processing is idempotent (each reaction keys its writes by the record's sequence), so a record
//! delivered twice changes nothing twice; a record whose reactions keep failing is kept as a
//! failed change for admins to see and replay, and the feed moves on.

pub mod consumer;
#[cfg(feature = "streams")]
pub mod dynamo;
pub mod effects;
pub mod failed;
mod reactions;
pub mod runner;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod stream_event;

use std::time::Duration;

use async_trait::async_trait;

pub use crate::store::changes::{ChangeKind, ChangeRecord};
use crate::store::StoreError;
pub use effects::Effect;

/// A feed of change records read in order by one consumer (the local gateway's): the SQLite
/// store's feed table, or a DynamoDB Stream read through its API (moto). In AWS, Lambda's
/// event-source mapping is the consumer and hands batches to [`runner::process`] instead.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Up to `limit` records after the consumer's position, oldest first (empty: caught up).
    async fn next_batch(&self, limit: usize) -> Result<Vec<ChangeRecord>, StoreError>;

    /// Records that every record up to and including `record` (of the last batch) is processed.
    async fn checkpoint(&self, record: &ChangeRecord) -> Result<(), StoreError>;

    /// The last batch was not processed to its end: the next batch starts after the last
    /// checkpoint again.
    async fn rewind(&self);

    /// Resolves when new records may be there, or after `idle` at the latest.
    async fn changed(&self, idle: Duration);
}

//! The SQLite store's feed table as a [`ChangeFeed`]: records after the consumer's checkpoint,
//! which is kept in the same file, so a restarted gateway carries on where it stopped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use crate::store::changes::ChangeRecord;
use crate::store::sqlite::SqliteItemStore;
use crate::store::StoreError;

use super::ChangeFeed;

/// The checkpoint name of the local gateway's consumer.
pub const CONSUMER: &str = "reactions";

/// The feed of a SQLite store, read by one consumer.
#[derive(Debug)]
pub struct SqliteFeed {
    store: SqliteItemStore,
    position: AtomicU64,
}

impl SqliteFeed {
    /// The feed of `store`, from where its consumer last stopped.
    pub async fn open(store: SqliteItemStore) -> Result<Self, StoreError> {
        let position = store.checkpoint(CONSUMER).await?;
        Ok(Self { store, position: AtomicU64::new(position) })
    }
}

fn sequence(record: &ChangeRecord) -> Result<u64, StoreError> {
    record.sequence.parse().map_err(|_| StoreError::Invalid(format!("sequence {:?}", record.sequence)))
}

#[async_trait]
impl ChangeFeed for SqliteFeed {
    async fn next_batch(&self, limit: usize) -> Result<Vec<ChangeRecord>, StoreError> {
        self.store.changes_after(self.position.load(Ordering::SeqCst), limit).await
    }

    async fn checkpoint(&self, record: &ChangeRecord) -> Result<(), StoreError> {
        let seq = sequence(record)?;
        self.position.fetch_max(seq, Ordering::SeqCst);
        let now_ms = (crate::domain::now().unix_timestamp_nanos() / 1_000_000) as i64;
        self.store.set_checkpoint(CONSUMER, seq, now_ms).await
    }

    async fn rewind(&self) {
        // The position only moves at a checkpoint: the next batch starts right after it.
    }

    async fn changed(&self, idle: Duration) {
        let _ = tokio::time::timeout(idle, self.store.appended().notified()).await;
    }
}

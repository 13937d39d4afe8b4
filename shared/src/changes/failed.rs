//! Failed changes (`FAILED_CHANGES` / `<failed at ULID>`): records whose reactions kept failing,
//! kept with the record and the last error so an admin can see them and replay them. The feed
//! moves on past them, so one bad record never holds up the changes behind it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{next_ulid, now};
use crate::error::ApiError;
use crate::repo::{from_item, records};
use crate::store::changes::ChangeRecord;
use crate::store::{Condition, Cursor, ItemStore, Key, Query};

/// Partition of the failed changes.
const PARTITION: &str = "FAILED_CHANGES";

/// A change whose reactions kept failing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FailedChange {
    /// Id of the failure (sorts by time).
    pub id: String,
    /// The record, as the feed delivered it.
    #[schema(value_type = Object)]
    pub record: ChangeRecord,
    /// What the last attempt failed with.
    pub error: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// When the record was given up on (RFC 3339).
    #[serde(with = "crate::domain::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub failed_at: time::OffsetDateTime,
}

/// Key of a failed change.
fn key(id: &str) -> Key {
    Key::new(PARTITION, id)
}

/// Keeps a record whose reactions failed `attempts` times, the last with `error`.
pub async fn keep(
    store: &dyn ItemStore,
    record: &ChangeRecord,
    error: &str,
    attempts: u32,
) -> Result<FailedChange, ApiError> {
    let failed = FailedChange {
        id: next_ulid().to_string(),
        record: record.clone(),
        error: error.to_owned(),
        attempts,
        failed_at: now(),
    };
    put(store, &failed).await?;
    Ok(failed)
}

/// Stores a failed change under its id (unless one is stored there).
pub async fn put(store: &dyn ItemStore, failed: &FailedChange) -> Result<(), ApiError> {
    let item = crate::repo::to_item(failed, &key(&failed.id), &[])?;
    store.put(item, Some(Condition::NotExists)).await?;
    Ok(())
}

/// One page of the failed changes, newest first.
pub async fn list(
    store: &dyn ItemStore,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<FailedChange>, Option<Cursor>), ApiError> {
    let page = store.query(Query::table(PARTITION).ascending(false).limit(limit).cursor(cursor)).await?;
    records(page)
}

/// A failed change by id.
pub async fn get(store: &dyn ItemStore, id: &str) -> Result<Option<FailedChange>, ApiError> {
    store.get(&key(id)).await?.map(from_item).transpose()
}

/// Forgets a failed change (after a replay succeeded).
pub async fn remove(store: &dyn ItemStore, id: &str) -> Result<(), ApiError> {
    store.delete(&key(id), None).await?;
    Ok(())
}

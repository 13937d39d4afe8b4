//! Delivery logs: one record per push attempt, `PUSHLOG#<user>` / `<log id>` (a user's, newest
//! last by id), indexed on gsi2 by `PUSHJOB#<job id>` / `<log id>` (a send's). Kept 30 days
//! (TTL `expires_at`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{records, to_item};
use crate::domain::push::Category;
use crate::domain::UserId;
use crate::error::ApiError;
use crate::push::Platform;
use crate::store::{Condition, Cursor, Item, ItemStore, Key, Query, StoreError, PK, SK, TTL};

/// How long a delivery log is kept.
pub const RETENTION_SECONDS: i64 = 30 * 24 * 3600;

/// What became of one push attempt. A publish is logged `pending` before it is made and then
/// settled to `sent`, `failed` or `endpoint_disabled`; the other statuses are logged once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Published to the device's endpoint.
    Sent,
    /// The user turned the category off.
    SkippedPreference,
    /// It was quiet hours where the user is.
    SkippedQuietHours,
    /// The user muted the session.
    SkippedMuted,
    /// The user is blocked.
    SkippedBlocked,
    /// The user has no device registered.
    SkippedNoDevice,
    /// The push service failed.
    Failed,
    /// The platform rejected the device's token; the device is disabled until it registers again.
    EndpointDisabled,
    /// Being published; stays so if the outcome could not be recorded (the store failed after
    /// the publish: the push may or may not have gone out).
    Pending,
}

/// One push attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryLog {
    /// Log id (ULID: sorts by time).
    pub id: String,
    /// The send it belongs to.
    pub job_id: String,
    /// The recipient.
    pub user_id: UserId,
    /// The device tried, if one was.
    #[serde(default)]
    pub device_id: Option<String>,
    /// Its platform.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// What the push was about.
    pub category: Category,
    /// What became of it.
    pub status: DeliveryStatus,
    /// The push service's error, for `failed`.
    #[serde(default)]
    pub error: Option<String>,
    /// The push service's message id, for `sent`.
    #[serde(default)]
    pub message_id: Option<String>,
    /// The exact message published (kept by the local gateway, where nothing is sent).
    #[serde(default)]
    pub payload: Option<Value>,
    /// When.
    #[serde(with = "crate::domain::timestamp")]
    pub at: OffsetDateTime,
}

fn partition(user: &UserId) -> String {
    format!("PUSHLOG#{user}")
}

/// Stores a log.
pub async fn put(store: &dyn ItemStore, log: &DeliveryLog) -> Result<(), ApiError> {
    store.put(item(log)?, None).await?;
    Ok(())
}

/// Claims the push of send `job_id` to `user` (`PUSHCLAIM#<job id>` / `<user>`, kept as long as
/// the logs): true the first time, false ever after. A change feed record handled twice pushes
/// once: at most once, as a claim made before a push that then failed is not made again.
pub async fn claim(store: &dyn ItemStore, job_id: &str, user: &UserId) -> Result<bool, ApiError> {
    let mut item = Item::new();
    item.insert(PK.into(), Value::String(format!("PUSHCLAIM#{job_id}")));
    item.insert(SK.into(), Value::String(user.to_string()));
    let expires = crate::domain::now().unix_timestamp() + RETENTION_SECONDS;
    item.insert(TTL.into(), Value::from(expires));
    match store.put(item, Some(Condition::NotExists)).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// Stores many logs (a bulk chunk's); not one transaction: a rerun writes the same items again.
pub async fn put_many(store: &dyn ItemStore, logs: &[DeliveryLog]) -> Result<(), ApiError> {
    store.put_many(logs.iter().map(item).collect::<Result<_, _>>()?).await?;
    Ok(())
}

fn item(log: &DeliveryLog) -> Result<Item, ApiError> {
    let expires = log.at.unix_timestamp() + RETENTION_SECONDS;
    let mut item = to_item(
        log,
        &Key::new(partition(&log.user_id), log.id.clone()),
        &[("gsi2pk", format!("PUSHJOB#{}", log.job_id)), ("gsi2sk", log.id.clone())],
    )?;
    item.insert("expires_at".into(), Value::from(expires));
    Ok(item)
}

/// Which logs a page reads.
#[derive(Debug, Clone)]
pub enum LogListing {
    /// A user's, newest first.
    User(UserId),
    /// A send's, in order.
    Job(String),
}

/// One page of logs.
pub async fn list(
    store: &dyn ItemStore,
    listing: &LogListing,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<DeliveryLog>, Option<Cursor>), ApiError> {
    let query = match listing {
        LogListing::User(user) => Query::table(partition(user)).ascending(false),
        LogListing::Job(job) => Query::index("gsi2", format!("PUSHJOB#{job}")),
    };
    records(store.query(query.limit(limit).cursor(cursor)).await?)
}

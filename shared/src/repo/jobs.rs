//! Bulk-send jobs: the job `BULKJOB#<job id>` / `JOB` (what is sent, to how many, and the
//! counters the worker adds to), one claim per handled recipient `BULKJOB#<job id>` /
//! `USER#<user>` (written with a condition, so a recipient is pushed at most once however
//! often its chunk is delivered), and an admin's idempotency keys `BULKKEY#<admin>` / `<key>`.
//! Claims and keys are kept as long as delivery logs (TTL `expires_at`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::{from_item, to_item};
use crate::domain::{JobId, UserId};
use crate::error::ApiError;
use crate::ops::Notification;
use crate::repo::deliveries::RETENTION_SECONDS;
use crate::store::{Condition, ItemStore, Key, StoreError, TxOp, UpdateAction, MAX_TRANSACTION_OPS};

/// A stored job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    /// Its id.
    pub job_id: JobId,
    /// The admin who started it.
    pub created_by: UserId,
    /// When.
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: OffsetDateTime,
    /// What is sent.
    pub notification: Notification,
    /// Distinct recipients.
    pub total: usize,
    /// Recipients with at least one push published.
    #[serde(default)]
    pub sent: usize,
    /// Recipients whose pushes all failed (or whose endpoints were disabled).
    #[serde(default)]
    pub failed: usize,
    /// Recipients not pushed (preference, quiet hours, muted, blocked, no device).
    #[serde(default)]
    pub skipped: usize,
    /// Whether all of its chunks were handed to the job queue.
    #[serde(default)]
    pub enqueued: bool,
    /// SHA-256 of the request, to tell a retry from another send under the same key.
    pub request_hash: String,
}

/// What an idempotency key points at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The job the key started.
    pub job_id: JobId,
    /// The hash of the request that started it.
    pub request_hash: String,
}

/// Which counter a handled recipient adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// At least one push published.
    Sent,
    /// Every push failed.
    Failed,
    /// Not pushed, by the recipient's settings or for want of a device.
    Skipped,
}

fn job_key(job: &JobId) -> Key {
    Key::new(format!("BULKJOB#{job}"), "JOB")
}

fn claim_key(job: &JobId, user: &UserId) -> Key {
    Key::new(format!("BULKJOB#{job}"), format!("USER#{user}"))
}

/// The marker of a counted chunk, named by its first recipient (a chunk delivered again holds
/// the same recipients in the same order).
fn counted_key(job: &JobId, first: &UserId) -> Key {
    Key::new(format!("BULKJOB#{job}"), format!("COUNTED#{first}"))
}

fn idempotency_key(admin: &UserId, key: &str) -> Key {
    Key::new(format!("BULKKEY#{admin}"), key.to_owned())
}

fn expiring(key: &Key, at: OffsetDateTime) -> Result<crate::store::Item, ApiError> {
    let mut item = to_item(&serde_json::Map::new(), key, &[])?;
    item.insert("expires_at".into(), Value::from(at.unix_timestamp() + RETENTION_SECONDS));
    Ok(item)
}

/// The condition of a job's creation that its idempotency key is not taken.
const KEY_FREE: &str = "key_free";

/// Stores a new job, and with it its idempotency key if it has one, in one transaction.
/// `Ok(false)` when the key is taken already (nothing is written).
pub async fn create(store: &dyn ItemStore, job: &JobRecord, key: Option<&str>) -> Result<bool, ApiError> {
    let job_item = to_item(job, &job_key(&job.job_id), &[])?;
    let Some(key) = key else {
        store.put(job_item, Some(Condition::NotExists)).await?;
        return Ok(true);
    };
    let record = KeyRecord { job_id: job.job_id, request_hash: job.request_hash.clone() };
    let mut key_item = to_item(&record, &idempotency_key(&job.created_by, key), &[])?;
    key_item.insert("expires_at".into(), Value::from(job.created_at.unix_timestamp() + RETENTION_SECONDS));
    let ops = vec![
        TxOp::Put { item: key_item, condition: Some(Condition::NotExists) }.named(KEY_FREE),
        TxOp::Put { item: job_item, condition: Some(Condition::NotExists) }.named("job_new"),
    ];
    match store.transact_write(ops).await {
        Ok(()) => Ok(true),
        Err(StoreError::TransactionCanceled { failed }) if failed == [KEY_FREE] => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The job an admin's idempotency key started.
pub async fn by_key(store: &dyn ItemStore, admin: &UserId, key: &str) -> Result<Option<KeyRecord>, ApiError> {
    store.get(&idempotency_key(admin, key)).await?.map(from_item).transpose()
}

/// A job.
pub async fn get(store: &dyn ItemStore, job: &JobId) -> Result<Option<JobRecord>, ApiError> {
    store.get(&job_key(job)).await?.map(from_item).transpose()
}

/// Records that all of a job's chunks were enqueued.
pub async fn mark_enqueued(store: &dyn ItemStore, job: &JobId) -> Result<(), ApiError> {
    let actions = vec![UpdateAction::Set("enqueued".into(), Value::Bool(true))];
    store.update(&job_key(job), actions, Some(Condition::Exists)).await?;
    Ok(())
}

/// Claims a chunk's recipients together (one transaction per [`MAX_TRANSACTION_OPS`]) and
/// returns those claimed now: a recipient claimed before (the chunk was delivered again) is left
/// out, so nobody is pushed twice. A cancelled transaction means some were claimed before; that
/// group is then claimed one by one, to learn which.
pub async fn claim_many(
    store: &dyn ItemStore,
    job: &JobId,
    users: &[UserId],
    at: OffsetDateTime,
) -> Result<Vec<UserId>, ApiError> {
    let mut claimed = Vec::with_capacity(users.len());
    for group in users.chunks(MAX_TRANSACTION_OPS) {
        let ops = group
            .iter()
            .map(|user| {
                Ok(TxOp::Put { item: claim_item(job, user, at)?, condition: Some(Condition::NotExists) }
                    .named(UNCLAIMED))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        match store.transact_write(ops).await {
            Ok(()) => claimed.extend_from_slice(group),
            Err(StoreError::TransactionCanceled { .. }) => {
                for user in group {
                    match store.put(claim_item(job, user, at)?, Some(Condition::NotExists)).await {
                        Ok(()) => claimed.push(user.clone()),
                        Err(StoreError::ConditionFailed) => {}
                        Err(error) => return Err(error.into()),
                    }
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(claimed)
}

/// The condition of a claim: the recipient was not claimed before.
const UNCLAIMED: &str = "unclaimed";

fn claim_item(job: &JobId, user: &UserId, at: OffsetDateTime) -> Result<crate::store::Item, ApiError> {
    expiring(&claim_key(job, user), at)
}

/// Recipients handled, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// At least one push published.
    pub sent: u32,
    /// Every push failed.
    pub failed: u32,
    /// Not pushed.
    pub skipped: u32,
}

impl Tally {
    /// Counts one recipient.
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Sent => self.sent += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Skipped => self.skipped += 1,
        }
    }
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Self) {
        self.sent += other.sent;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

fn counter_actions(tally: Tally) -> Vec<UpdateAction> {
    [("sent", tally.sent), ("failed", tally.failed), ("skipped", tally.skipped)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(counter, n)| UpdateAction::Add(counter.into(), i64::from(n)))
        .collect()
}

/// Adds handled recipients to the job's counters, in one update.
pub async fn count(store: &dyn ItemStore, job: &JobId, tally: Tally) -> Result<(), ApiError> {
    let actions = counter_actions(tally);
    if actions.is_empty() {
        return Ok(());
    }
    store.update(&job_key(job), actions, Some(Condition::Exists)).await?;
    Ok(())
}

/// The condition of a chunk's count that the chunk was not counted before.
const NOT_COUNTED: &str = "not_counted";

/// Adds a chunk's handled recipients to the job's counters once: the update and the chunk's
/// marker (named by its `first` recipient) in one transaction, so that a chunk whose count was
/// lost is counted when it is delivered again, and one counted already adds nothing.
/// `Ok(false)` when it was counted before (nothing is written).
pub async fn count_chunk(
    store: &dyn ItemStore,
    job: &JobId,
    first: &UserId,
    tally: Tally,
    at: OffsetDateTime,
) -> Result<bool, ApiError> {
    let mut ops = vec![TxOp::Put {
        item: expiring(&counted_key(job, first), at)?,
        condition: Some(Condition::NotExists),
    }
    .named(NOT_COUNTED)];
    let actions = counter_actions(tally);
    if !actions.is_empty() {
        ops.push(
            TxOp::Update { key: job_key(job), actions, condition: Some(Condition::Exists) }.named("job"),
        );
    }
    match store.transact_write(ops).await {
        Ok(()) => Ok(true),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&NOT_COUNTED) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Whether the chunk that starts with `first` was counted.
pub async fn chunk_counted(store: &dyn ItemStore, job: &JobId, first: &UserId) -> Result<bool, ApiError> {
    Ok(store.get(&counted_key(job, first)).await?.is_some())
}

//! Agents' floor state (`AGENT#<id>` / `STATE`), listed by status in gsi2 (`AGENTS#<status>`,
//! sorted by load, then by how long they have been idle, so routing reads the best candidate
//! first). Every write puts the whole state, conditional on the version it was read with.

use crate::domain::{AgentState, AgentStatus, UserId};
use crate::error::ApiError;
use crate::store::{Condition, ItemStore, Key, KeyRange, Query, StoreError, TxOp, UpdateAction};

use super::{all_records, from_item, to_item};

/// Largest page of agents read at once.
const PAGE: usize = 200;

/// Key of an agent's state.
pub fn key(agent: &UserId) -> Key {
    Key::new(format!("AGENT#{agent}"), "STATE")
}

/// Whether a changed item's key is an agent's state (for the change feed).
pub fn is_state_key(pk: &str, sk: &str) -> bool {
    pk.starts_with("AGENT#") && sk == "STATE"
}

/// gsi2 partition of the agents in a status.
pub fn status_partition(status: AgentStatus) -> String {
    format!("AGENTS#{}", status.as_str())
}

/// Reads an agent's state; `None` for an agent who never set a status (offline).
pub async fn get(store: &dyn ItemStore, agent: &UserId) -> Result<Option<AgentState>, ApiError> {
    store.get(&key(agent)).await?.map(from_item).transpose()
}

/// Writes `next` (whose version must be one past `read`'s), failing if the stored state is no
/// longer the one read (or, for a first write, if one exists).
pub fn put(next: &AgentState, read: Option<&AgentState>) -> Result<TxOp, ApiError> {
    let idle = next.last_assigned_at.unwrap_or(next.status_changed_at);
    let idle = crate::domain::timestamp::format(idle)
        .map_err(|e| ApiError::Internal(format!("formatting a time: {e}")))?;
    let attrs = [
        ("gsi2pk", status_partition(next.status)),
        ("gsi2sk", format!("{:03}#{idle}#{}", next.active_sessions, next.agent_id)),
    ];
    let item = to_item(next, &key(&next.agent_id), &attrs)?;
    let condition = match read {
        None => Condition::NotExists,
        Some(read) => Condition::Equals("version".into(), serde_json::Value::from(read.version)),
    };
    Ok(TxOp::Put { item, condition: Some(condition) })
}

/// [`put`] on its own (one conditional PutItem): false when the stored state is no longer the
/// one read.
pub async fn write(
    store: &dyn ItemStore,
    next: &AgentState,
    read: Option<&AgentState>,
) -> Result<bool, ApiError> {
    let TxOp::Put { item, condition } = put(next, read)? else {
        return Err(ApiError::Internal("an agent's state is written with a put".into()));
    };
    match store.put(item, condition).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// Every agent stored in a status, least loaded and longest idle first.
pub async fn in_status(store: &dyn ItemStore, status: AgentStatus) -> Result<Vec<AgentState>, ApiError> {
    all_records(store, Query::index("gsi2", status_partition(status)).limit(PAGE)).await
}

/// Key of the routing lease (`ROUTING` / `LEASE`): one dispatcher routes at a time.
fn lease_key() -> Key {
    Key::new("ROUTING", "LEASE")
}

/// What a dispatcher got when it asked to route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lead {
    /// It holds the lease: it routes, then releases.
    Leader,
    /// Another dispatcher holds it and was told to run again (it will see this change too).
    Handed,
}

/// Takes the routing lease as `holder` (for `lease_ms`), or, when someone holds it, marks it
/// to run again; loops over the race between the two (the lease released meanwhile).
pub async fn lead(store: &dyn ItemStore, holder: &str, now_ms: i64, lease_ms: i64) -> Result<Lead, ApiError> {
    use serde_json::Value;
    for _ in 0..16 {
        let free = Condition::Or(vec![
            Condition::AttributeNotExists("holder".into()),
            Condition::LessThan("until_ms".into(), Value::from(now_ms)),
        ]);
        let take = vec![
            UpdateAction::Set("holder".into(), Value::from(holder)),
            UpdateAction::Set("until_ms".into(), Value::from(now_ms + lease_ms)),
            UpdateAction::Set("again".into(), Value::Bool(false)),
        ];
        match store.update(&lease_key(), take, Some(free)).await {
            Ok(_) => return Ok(Lead::Leader),
            Err(StoreError::ConditionFailed) => {}
            Err(other) => return Err(other.into()),
        }
        let held = Condition::And(vec![
            Condition::AttributeExists("holder".into()),
            Condition::GreaterThan("until_ms".into(), Value::from(now_ms - 1)),
        ]);
        let again = vec![UpdateAction::Set("again".into(), Value::Bool(true))];
        match store.update(&lease_key(), again, Some(held)).await {
            Ok(_) => return Ok(Lead::Handed),
            Err(StoreError::ConditionFailed) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::Internal("the routing lease kept changing hands".into()))
}

/// Releases the lease held by `holder` unless someone asked it to run again: then it clears the
/// request, renews the lease and returns false (route once more, then release again).
pub async fn release(
    store: &dyn ItemStore,
    holder: &str,
    now_ms: i64,
    lease_ms: i64,
) -> Result<bool, ApiError> {
    use serde_json::Value;
    let quiet = Condition::And(vec![
        Condition::Equals("holder".into(), Value::from(holder)),
        Condition::Equals("again".into(), Value::Bool(false)),
    ]);
    match store.delete(&lease_key(), Some(quiet)).await {
        Ok(_) => return Ok(true),
        Err(StoreError::ConditionFailed) => {}
        Err(other) => return Err(other.into()),
    }
    let renew = vec![
        UpdateAction::Set("again".into(), Value::Bool(false)),
        UpdateAction::Set("until_ms".into(), Value::from(now_ms + lease_ms)),
    ];
    match store
        .update(&lease_key(), renew, Some(Condition::Equals("holder".into(), Value::from(holder))))
        .await
    {
        Ok(_) => Ok(false),
        // The lease expired and passed on: the new holder routes.
        Err(StoreError::ConditionFailed) => Ok(true),
        Err(other) => Err(other.into()),
    }
}

/// Releases the lease held by `holder` whatever was asked of it (a dispatcher out of time or
/// failing: the next trigger takes the lease and routes everything, and the sweep routes within
/// a minute). A lease already passed on is left alone.
pub async fn give_up(store: &dyn ItemStore, holder: &str) -> Result<(), ApiError> {
    let mine = Condition::Equals("holder".into(), serde_json::Value::from(holder));
    match store.delete(&lease_key(), Some(mine)).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

/// Every agent stored in a status who holds at least one session (the sort key of a load of
/// zero starts `000#`, and `$` sorts right after `#`).
pub async fn loaded_in_status(
    store: &dyn ItemStore,
    status: AgentStatus,
) -> Result<Vec<AgentState>, ApiError> {
    let query =
        Query::index("gsi2", status_partition(status)).range(KeyRange::After("000$".into())).limit(PAGE);
    all_records(store, query).await
}

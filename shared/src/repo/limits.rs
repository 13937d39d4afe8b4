//! Rate limits on keys other than a connection (`LIMIT#<name>#<key>` / `META`): the same token
//! bucket as a connection's send limit ([`super::connections::allow_send`]), kept as GCRA's one
//! number in a record of its own that expires once the bucket is full again.

use serde_json::Value;

use crate::error::ApiError;
use crate::store::{Condition, ItemStore, Key, UpdateAction, TTL};

use super::connections::SendLimit;

/// Tries at counting a request that lost a race with another opening the window.
const ATTEMPTS: usize = 3;

/// The attribute holding when the bucket is full again (epoch ms).
const TAT: &str = "tat_ms";

fn key(name: &str, subject: &str) -> Key {
    Key::new(format!("LIMIT#{name}#{subject}"), "META")
}

/// Counts one request of `subject` (a client IP) against the limit `name`: true when the bucket
/// of `limit.burst` requests, refilled one per `limit.interval_ms`, has room. The count lives in
/// the store and changes only by conditional updates, so it holds across function instances.
pub async fn allow(
    store: &dyn ItemStore,
    name: &str,
    subject: &str,
    limit: SendLimit,
    now_ms: i64,
) -> Result<bool, ApiError> {
    let key = key(name, subject);
    let tolerance = (limit.burst - 1) * limit.interval_ms;
    // The record is useless once the bucket is full again: let TTL take it then.
    let expires = |tat_ms: i64| UpdateAction::Set(TTL.into(), Value::from(tat_ms / 1000 + 1));
    for _ in 0..ATTEMPTS {
        let rested = Condition::Or(vec![
            Condition::AttributeNotExists(TAT.into()),
            Condition::LessThan(TAT.into(), Value::from(now_ms)),
        ]);
        let start = now_ms + limit.interval_ms;
        if counted(
            store,
            &key,
            vec![UpdateAction::Set(TAT.into(), Value::from(start)), expires(start)],
            rested,
        )
        .await?
        {
            return Ok(true);
        }
        let in_a_run = Condition::And(vec![
            Condition::AttributeExists(TAT.into()),
            Condition::Not(Box::new(Condition::LessThan(TAT.into(), Value::from(now_ms)))),
            Condition::Not(Box::new(Condition::GreaterThan(TAT.into(), Value::from(now_ms + tolerance)))),
        ]);
        let added = vec![
            UpdateAction::Add(TAT.into(), limit.interval_ms),
            expires(now_ms + tolerance + limit.interval_ms),
        ];
        if counted(store, &key, added, in_a_run).await? {
            return Ok(true);
        }
        let tat = store.get(&key).await?.and_then(|item| item.get(TAT).and_then(Value::as_i64));
        if tat.is_some_and(|tat| tat > now_ms + tolerance) {
            return Ok(false);
        }
    }
    Ok(false)
}

async fn counted(
    store: &dyn ItemStore,
    key: &Key,
    actions: Vec<UpdateAction>,
    condition: Condition,
) -> Result<bool, ApiError> {
    match store.update(key, actions, Some(condition)).await {
        Ok(_) => Ok(true),
        Err(crate::store::StoreError::ConditionFailed) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

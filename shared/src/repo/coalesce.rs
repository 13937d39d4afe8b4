//! Push coalescing: at most one chat push per session per recipient per minute.
//! `PUSHCOAL#<user>#<session>` / `META` counts the messages since the last push (`pending`) and
//! holds the time of that push (`last_push_ms`) and the newest message counted (`last_message`,
//! so a message counted twice — a change feed record delivered again — counts once); it lives a
//! day (TTL).

use serde_json::Value;

use crate::domain::{MessageId, SessionId, UserId};
use crate::error::ApiError;
use crate::store::{Condition, ItemStore, Key, StoreError, UpdateAction};

/// Shortest time between two chat pushes about one session to one user.
pub const WINDOW_MS: i64 = 60_000;

fn key(user: &UserId, session: &SessionId) -> Key {
    Key::new(format!("PUSHCOAL#{user}#{session}"), "META")
}

/// Counts one more message for `user` in `session` at `now_ms`; returns the number of messages
/// the push should announce if one is due now (none was sent in the last minute), or `None`
/// when this message only adds to the count of the next push, or was counted before (message
/// ids grow with time, so one counted after it is too). Two calls when a push is due, one
/// otherwise; of two concurrent callers at most one gets the push.
pub async fn message_for(
    store: &dyn ItemStore,
    user: &UserId,
    session: &SessionId,
    message: &MessageId,
    now_ms: i64,
) -> Result<Option<u64>, ApiError> {
    let key = key(user, session);
    let expires = Value::from(now_ms / 1000 + 24 * 3600);
    let id = Value::String(message.to_string());
    let new_message = Condition::Or(vec![
        Condition::AttributeNotExists("last_message".into()),
        Condition::LessThan("last_message".into(), id.clone()),
    ]);
    let count = vec![
        UpdateAction::Add("pending".into(), 1),
        UpdateAction::Set("expires_at".into(), expires),
        UpdateAction::Set("last_message".into(), id),
    ];
    let counted = match store.update(&key, count, Some(new_message)).await {
        Ok(counted) => counted,
        Err(StoreError::ConditionFailed) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    let pending = counted.get("pending").and_then(Value::as_u64).unwrap_or(1);
    let last = counted.get("last_push_ms").and_then(Value::as_i64);
    if last.is_some_and(|last| now_ms - last < WINDOW_MS) {
        return Ok(None);
    }
    let unchanged = match last {
        Some(last) => Condition::Equals("last_push_ms".into(), Value::from(last)),
        None => Condition::AttributeNotExists("last_push_ms".into()),
    };
    let claim = vec![
        UpdateAction::Set("last_push_ms".into(), Value::from(now_ms)),
        UpdateAction::Add("pending".into(), -i64::try_from(pending).unwrap_or(i64::MAX)),
    ];
    match store.update(&key, claim, Some(unchanged)).await {
        Ok(_) => Ok(Some(pending)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

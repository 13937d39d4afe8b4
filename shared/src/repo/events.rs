//! The append-only event log: every state change (who, what, when, target), stored next to its
//! target (`<target partition>` / `EVENT#<id>`) and by day in gsi1 (`EVENTS#<yyyy-mm-dd>`), so
//! a session's history and a day's events are each one Query.

use serde_json::Value;

use crate::domain::{AuditEvent, Principal, SessionId};
use crate::error::ApiError;
use crate::store::{Condition, Key, TxOp};

use super::to_item;

/// A new event by `actor`, now, on `target` (whose partition stores it).
pub fn record(
    actor: &Principal,
    kind: &str,
    target_partition: &str,
    target: String,
    session_id: Option<SessionId>,
    details: Value,
    at: time::OffsetDateTime,
) -> Result<TxOp, ApiError> {
    let id = crate::domain::next_ulid().to_string();
    let event = AuditEvent {
        id: id.clone(),
        kind: kind.to_owned(),
        actor_id: actor.user_id.clone(),
        actor_role: actor.role,
        target,
        session_id,
        at,
        details,
    };
    let day = format!("{:04}-{:02}-{:02}", at.year(), u8::from(at.month()), at.day());
    let key = Key::new(target_partition, format!("EVENT#{id}"));
    let item = to_item(&event, &key, &[("gsi1pk", format!("EVENTS#{day}")), ("gsi1sk", id)])?;
    Ok(TxOp::Put { item, condition: Some(Condition::NotExists) })
}

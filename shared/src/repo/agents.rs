//! Agents' floor state (`AGENT#<id>` / `STATE`), listed by status in gsi2 (`AGENTS#<status>`,
//! sorted by load, then by how long they have been idle, so routing reads the best candidate
//! first). Every write puts the whole state, conditional on the version it was read with.

use crate::domain::{AgentState, AgentStatus, UserId};
use crate::error::ApiError;
use crate::store::{Condition, ItemStore, Key, Query, TxOp};

use super::{from_item, records, to_item};

/// Largest page of agents read at once.
const PAGE: usize = 200;

/// Key of an agent's state.
pub fn key(agent: &UserId) -> Key {
    Key::new(format!("AGENT#{agent}"), "STATE")
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

/// Every agent stored in a status, least loaded and longest idle first.
pub async fn in_status(store: &dyn ItemStore, status: AgentStatus) -> Result<Vec<AgentState>, ApiError> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::index("gsi2", status_partition(status)).limit(PAGE).cursor(cursor);
        let (page, next): (Vec<AgentState>, _) = records(store.query(query).await?)?;
        all.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}

//! Agents' floor state (`AGENT#<id>` / `STATE`), listed by status in gsi2 (`AGENTS#<status>`,
//! sorted by load, then by how long they have been idle, so routing reads the best candidate
//! first).

use crate::domain::{AgentState, UserId};
use crate::error::ApiError;
use crate::store::{ItemStore, Key};

use super::from_item;

/// Key of an agent's state.
pub fn key(agent: &UserId) -> Key {
    Key::new(format!("AGENT#{agent}"), "STATE")
}

/// Reads an agent's state; `None` for an agent who never set a status (offline).
pub async fn get(store: &dyn ItemStore, agent: &UserId) -> Result<Option<AgentState>, ApiError> {
    store.get(&key(agent)).await?.map(from_item).transpose()
}

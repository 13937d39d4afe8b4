//! Routing after an agent's change, from the feed: an agent who has room again (back online, a
//! higher capacity, other rooms, a load that fell below the capacity) is given waiting sessions;
//! when the online capacity changed otherwise, the waiting customers hear their new estimates.
//!
//! A record handled twice routes no session twice: a dispatch holds the routing lease and each
//! assignment is conditional on the session still waiting and the agent's state unchanged, so
//! the second run finds nothing left to do that the first did.

use time::OffsetDateTime;

use crate::app::App;
use crate::domain::{now, AgentState, AgentStatus, Principal, Role};
use crate::error::ApiError;
use crate::ops::{queue, routing};

use super::Effect;

/// Whether `new` may take sessions that `old` could not: routing has something new to try.
fn has_new_room(old: Option<&AgentState>, new: &AgentState, at: OffsetDateTime) -> bool {
    new.has_free_capacity(at)
        && old.is_none_or(|old| {
            !old.has_free_capacity(at) || new.capacity > old.capacity || new.rooms != old.rooms
        })
}

/// The sessions an agent takes at once while online (what the wait estimate shares out).
fn online_capacity(agent: Option<&AgentState>, at: OffsetDateTime) -> u32 {
    agent.filter(|a| a.status_at(at) == AgentStatus::Online).map_or(0, |a| a.capacity.get())
}

/// Routes to an agent with new room, or retells the estimates; causes nothing further (the
/// assignments are change records of their own).
pub(super) async fn react(app: &App, effect: &Effect) -> Result<Vec<Effect>, ApiError> {
    let Effect::AgentChanged { old, new } = effect else { return Ok(Vec::new()) };
    let at = now();
    let old = old.as_deref();
    let mut routed = false;
    if has_new_room(old, new, at) {
        let agent = Principal { user_id: new.agent_id.clone(), role: Role::Agent, name: new.name.clone() };
        // A dispatch that routed tells the waiting sessions their places itself.
        routed = !routing::dispatch(app, &agent).await.is_empty();
    }
    if !routed && online_capacity(old, at) != online_capacity(Some(new), at) {
        queue::tell_waiting(app).await;
    }
    Ok(Vec::new())
}

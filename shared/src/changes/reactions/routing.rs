//! What a session's change does to the queue, for the people waiting in it rather than those in
//! the conversation: routing when an agent's capacity was freed (a close or a transfer), and the
//! waiting sessions' places when a session left the queue (assigned or closed while waiting).

use crate::app::App;
use crate::domain::{Session, SessionStatus};
use crate::error::ApiError;
use crate::ops::{queue, routing};

use super::Effect;

/// Routes and tells the queue; causes nothing further (the assignments it makes are changes of
/// their own, with their own effects).
pub(super) async fn react(app: &App, effect: &Effect) -> Result<Vec<Effect>, ApiError> {
    let Effect::SessionUpdated { old, new } = effect else { return Ok(Vec::new()) };
    if capacity_freed(old, new) {
        routing::dispatch(app, &routing::router()?).await;
    }
    if old.status == SessionStatus::Waiting && new.status != SessionStatus::Waiting {
        queue::tell_waiting(app).await;
    }
    Ok(Vec::new())
}

/// Whether the change took a session off an agent's load: an active session closed, or moved to
/// another agent.
fn capacity_freed(old: &Session, new: &Session) -> bool {
    match (old.status, new.status) {
        (SessionStatus::Active, SessionStatus::Closed) => old.agent_id.is_some(),
        (SessionStatus::Active, SessionStatus::Active) => old.agent_id != new.agent_id,
        _ => false,
    }
}

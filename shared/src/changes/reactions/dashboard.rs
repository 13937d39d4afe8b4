//! The live dashboard from the feed: an agent's new state as `presence`, per record; the figures
//! once per batch whose records moved them (a session opened, a change of a session's status,
//! agent, priority or rating, an agent's state) — at most one throttled send a batch, so a burst
//! of changes costs one wait for the window, not one each. Both are state, not events: a record
//! handled twice shows the same again.

use crate::app::App;
use crate::domain::Session;
use crate::error::ApiError;
use crate::ops::dashboard;

use super::{Effect, Read};

/// Whether a session's change moves the dashboard's figures (the queue, the active sessions,
/// the closed and rated today); a message's bookkeeping on the session does not.
fn moves_figures(old: &Session, new: &Session) -> bool {
    old.status != new.status
        || old.agent_id != new.agent_id
        || old.priority != new.priority
        || old.rating != new.rating
}

/// Whether an effect moves the figures.
fn moves(effect: &Effect) -> bool {
    match effect {
        Effect::AgentChanged { .. } | Effect::SessionCreated(_) => true,
        Effect::SessionUpdated { old, new } => moves_figures(old, new),
        _ => false,
    }
}

/// Tells the dashboard's connections of an agent's new state; causes nothing further.
pub(super) async fn react(app: &App, effect: &Effect) -> Result<Vec<Effect>, ApiError> {
    if let Effect::AgentChanged { new, .. } = effect {
        dashboard::agent_presence(app, new).await;
    }
    Ok(Vec::new())
}

/// The figures, once, after a batch whose records moved them.
pub(super) async fn figures(app: &App, batch: &[Read<'_>]) {
    let moved = batch.iter().any(|(_, effects)| effects.as_ref().is_ok_and(|all| all.iter().any(moves)));
    if moved {
        dashboard::changed(app).await;
    }
}

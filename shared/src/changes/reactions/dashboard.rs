//! The live dashboard from the feed: an agent's new state as `presence` (then the figures), and
//! the figures after a session opened or a session change that moves them. Both are state, not events: a record
//! handled twice shows the same again.

use crate::app::App;
use crate::domain::Session;
use crate::error::ApiError;
use crate::ops::dashboard;

use super::Effect;

/// Whether a session's change moves the dashboard's figures (the queue, the active sessions,
/// the closed and rated today); a message's bookkeeping on the session does not.
fn moves_figures(old: &Session, new: &Session) -> bool {
    old.status != new.status
        || old.agent_id != new.agent_id
        || old.priority != new.priority
        || old.rating != new.rating
}

/// Tells the dashboard's connections what an effect changed; causes nothing further.
pub(super) async fn react(app: &App, effect: &Effect) -> Result<Vec<Effect>, ApiError> {
    match effect {
        Effect::AgentChanged { new, .. } => dashboard::agent_changed(app, new).await,
        Effect::SessionCreated(_) => dashboard::changed(app).await,
        Effect::SessionUpdated { old, new } if moves_figures(old, new) => dashboard::changed(app).await,
        _ => {}
    }
    Ok(Vec::new())
}

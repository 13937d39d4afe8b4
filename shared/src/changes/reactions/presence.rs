//! Presence from the feed: a connection that opened or went tells the user's open sessions
//! whether they are online, and an agent's status follows (its write is a change of its own,
//! which the dashboard and routing reactions take up).

use crate::app::App;
use crate::error::ApiError;
use crate::ops::presence;

use super::Effect;

/// Announces what a connection's coming or going changed; causes nothing further (the agent's
/// state, when it changes, comes back as a change record).
pub(super) async fn react(app: &App, effect: &Effect) -> Result<Vec<Effect>, ApiError> {
    match effect {
        Effect::ConnectionOpened(connection) => presence::opened(app, connection).await?,
        Effect::ConnectionGone(connection) => presence::gone(app, connection).await?,
        _ => {}
    }
    Ok(Vec::new())
}

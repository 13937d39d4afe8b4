//! The reactions: each a function from an effect to I/O through the ports, returning further
//! effects. None imports another; [`react`] is the one place that says which follow which effect.

mod agents_routing;
mod counters;
mod dashboard;
mod email;
mod facts;
mod presence;
mod pushes;
mod routing;
mod session_pushes;

use crate::app::App;
use crate::error::ApiError;
use crate::store::changes::ChangeRecord;

use super::Effect;

/// A record of a batch and its effects as read (or why they could not be read), read once for
/// every reaction.
pub(crate) type Read<'a> = (&'a ChangeRecord, Result<Vec<Effect>, ApiError>);

/// Counts a batch's changes on the day counters, once however often its records come: the
/// one reaction that takes a batch (it writes once for many records).
pub(crate) async fn count(app: &App, batch: &[Read<'_>]) -> Result<(), ApiError> {
    counters::count(app, batch).await
}

/// What follows a batch once its records' reactions ran: the dashboard's figures, once.
pub(crate) async fn after_batch(app: &App, handled: &[Read<'_>]) {
    dashboard::figures(app, handled).await;
}

/// Runs every other reaction of one effect; returns the effects they caused.
pub(crate) async fn react(app: &App, effect: &Effect) -> Result<Vec<Effect>, ApiError> {
    let mut caused = Vec::new();
    caused.extend(pushes::react(app, effect).await?);
    caused.extend(session_pushes::react(app, effect).await?);
    caused.extend(routing::react(app, effect).await?);
    caused.extend(presence::react(app, effect).await?);
    caused.extend(dashboard::react(app, effect).await?);
    caused.extend(agents_routing::react(app, effect).await?);
    caused.extend(facts::react(app, effect).await?);
    caused.extend(email::react(app, effect).await?);
    Ok(caused)
}

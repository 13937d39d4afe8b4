//! The reactions: each a function from an effect to I/O through the ports, returning further
//! effects. None imports another; [`react`] is the one place that says which follow which effect.

mod agents_routing;
mod counters;
mod dashboard;
mod facts;
mod presence;
mod pushes;
mod routing;
mod session_pushes;

use crate::app::App;
use crate::error::ApiError;

use super::Effect;

/// Which change an effect came from: reactions key their writes by it, so a record delivered
/// twice changes nothing twice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    /// The record's sequence.
    pub sequence: &'a str,
}

/// Runs every reaction of one effect; returns the effects they caused.
pub(crate) async fn react(app: &App, origin: Origin<'_>, effect: &Effect) -> Result<Vec<Effect>, ApiError> {
    let mut caused = Vec::new();
    caused.extend(counters::react(app, origin, effect).await?);
    caused.extend(pushes::react(app, effect).await?);
    caused.extend(session_pushes::react(app, effect).await?);
    caused.extend(routing::react(app, effect).await?);
    caused.extend(presence::react(app, effect).await?);
    caused.extend(dashboard::react(app, effect).await?);
    caused.extend(agents_routing::react(app, effect).await?);
    caused.extend(facts::react(app, effect).await?);
    Ok(caused)
}

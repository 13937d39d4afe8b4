//! The per-session facts the analytics rollup reads (`repo::facts`): every event recorded in a
//! session's log refreshes them from its whole history, so a record seen twice, or records seen
//! out of order, end in the same facts.

use crate::analytics::facts;
use crate::app::App;
use crate::error::ApiError;

use super::Effect;

/// Refreshes the facts of the session an event was recorded for; causes nothing further.
pub(super) async fn react(app: &App, effect: &Effect) -> Result<Vec<Effect>, ApiError> {
    if let Effect::SessionEventRecorded(event) = effect {
        if let Some(session_id) = event.session_id {
            facts::refresh(app.store.as_ref(), session_id).await?;
        }
    }
    Ok(Vec::new())
}

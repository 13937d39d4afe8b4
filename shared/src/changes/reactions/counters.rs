//! The dashboard's counters (`STATS#DAY`): messages by hour and role, first responses. Each change
//! is counted once: the updates and a marker keyed by the record's sequence in one transaction.

use crate::app::App;
use crate::error::ApiError;
use crate::repo::stats::{self, Change};
use crate::store::Key;

use super::{Effect, Origin};

/// The marker of a change counted by this reaction.
fn marker(origin: Origin<'_>) -> Key {
    Key::new(format!("CHANGE#{}", origin.sequence), "COUNTED")
}

/// Counts what an effect changes; causes nothing further.
pub(super) async fn react(app: &App, origin: Origin<'_>, effect: &Effect) -> Result<Vec<Effect>, ApiError> {
    let store = app.store.as_ref();
    match effect {
        Effect::MessageCreated(message) => {
            let change = Change::Message { role: message.sender_role };
            stats::count_once(store, marker(origin), message.created_at, change).await?;
        }
        Effect::SessionUpdated { old, new } => {
            if let (None, Some(answered)) = (old.first_response_at, new.first_response_at) {
                let since = old.queued_at.unwrap_or(old.created_at);
                let change = Change::FirstResponse { seconds: (answered - since).whole_seconds() };
                stats::count_once(store, marker(origin), answered, change).await?;
            }
        }
        Effect::SessionEventRecorded(_) => {}
    }
    Ok(Vec::new())
}

//! Replies by e-mail (`ops::email`): a reply from the support side starts its session's pending
//! e-mail, which the minute's sweep sends if the customer has not read it by then. Idempotent: a
//! record seen twice finds the e-mail pending already (or the reply read, or sent).

use crate::app::App;
use crate::error::ApiError;
use crate::ops::email;

use super::Effect;

/// Starts the pending e-mail of a reply; causes nothing further.
pub(super) async fn react(app: &App, effect: &Effect) -> Result<Vec<Effect>, ApiError> {
    if let Effect::MessageCreated(message) = effect {
        email::reply_sent(app, message).await?;
    }
    Ok(Vec::new())
}

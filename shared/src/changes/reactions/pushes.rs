//! Pushes to the participants of a conversation who are not connected: a new message becomes a
//! `chat_message` push (coalesced, counted once per message however often it is handled).

use crate::app::App;
use crate::error::ApiError;
use crate::ops::pushes;

use super::Effect;

/// Pushes what an effect tells people who are away; causes nothing further.
pub(super) async fn react(app: &App, effect: &Effect) -> Result<Vec<Effect>, ApiError> {
    if let Effect::MessageCreated(message) = effect {
        pushes::chat_message(app, message).await?;
    }
    Ok(Vec::new())
}

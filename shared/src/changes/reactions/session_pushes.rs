//! Pushes to the participants of a session who are not connected when it was assigned,
//! transferred or closed: read from the event the change recorded, which says who acted (they
//! get no push about their own doing) and which agent the session went to.

use serde_json::Value;

use crate::app::App;
use crate::domain::{AuditEvent, EventKind, LoggedKind, SessionStatus, UserId};
use crate::error::ApiError;
use crate::ops::pushes;
use crate::repo::sessions;

use super::Effect;

/// Pushes what an effect tells people who are away; causes nothing further.
pub(super) async fn react(app: &App, effect: &Effect) -> Result<Vec<Effect>, ApiError> {
    let Effect::SessionEventRecorded(event) = effect else { return Ok(Vec::new()) };
    let Some((status, agent)) = announced(event) else { return Ok(Vec::new()) };
    let Some(id) = event.session_id else { return Ok(Vec::new()) };
    // The session as it is now gives the subject and the customer; the status and agent are the
    // event's, so a later change (closed right after an assignment) does not rewrite this push.
    let Some(mut session) = sessions::get(app.store.as_ref(), &id).await? else { return Ok(Vec::new()) };
    session.status = status;
    session.agent_id = agent;
    pushes::session_update(app, &event.id, &session, &event.actor_id).await?;
    Ok(Vec::new())
}

/// The status and agent an event leaves a session with, for the events participants hear of.
fn announced(event: &AuditEvent) -> Option<(SessionStatus, Option<UserId>)> {
    let agent =
        |name: &str| event.details.get(name).and_then(Value::as_str).and_then(|id| UserId::parse(id).ok());
    match event.kind {
        LoggedKind::Known(EventKind::SessionAssigned) => Some((SessionStatus::Active, agent("agent_id"))),
        LoggedKind::Known(EventKind::SessionTransferred) => {
            Some((SessionStatus::Active, agent("to_agent_id")))
        }
        LoggedKind::Known(EventKind::SessionClosed) => Some((SessionStatus::Closed, agent("agent_id"))),
        _ => None,
    }
}

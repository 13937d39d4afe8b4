//! Operations: one per behaviour, called by the REST handlers (and the WebSocket handlers
//! alike). Each checks who may do it, reads what it must, and writes in one conditional call.

mod agents;
pub mod attachments;
pub mod audit;
pub mod bulk;
mod canned;
pub mod dashboard;
pub mod email;
pub mod failed_changes;
pub mod live;
mod messages;
mod moderation;
mod notes;
mod notifications;
pub mod presence;
pub(crate) mod pushes;
pub mod queue;
mod rooms;
pub mod routing;
mod sessions;
pub mod transcript;
pub mod widget;

pub use agents::{get_status, set_status, update_agent, SetStatus, UpdateAgent};
pub use canned::{
    create_canned_response, delete_canned_response, list_canned_responses, render_canned_response,
    require_staff, update_canned_response, CannedListing, CreateCannedResponse, RenderCannedResponse,
    RenderedCannedResponse, UpdateCannedResponse,
};
pub use messages::{
    delete_message, edit_message, list_messages, mark_read, send_message, EditMessage, MarkRead,
    MessageListing, SendMessage, Sent,
};
pub use moderation::{block_user, list_blocks, unblock_user, BlockStatus, BlockUser};
pub use notes::{create_note, edit_note, list_notes, WriteNote};
pub use notifications::{
    get_preferences, put_preferences, register_device, unregister_device, RegisterDevice, UnregisterDevice,
};
pub use pushes::{
    list_delivery_logs, platform_message, send_notification, BulkSend, Notification, SendNotification,
    SendSummary, RECIPIENT_CONCURRENCY,
};
pub use rooms::{create_room, list_rooms, CreateRoom};
pub use sessions::{
    assign_session, close_session, create_session, customer_sessions, get_session, list_participants,
    list_sessions, rate_session, reopen_session, transfer_session, update_session, AssignSession,
    CreateSession, RateSession, Rated, TransferSession, UpdateSession, PRIORITY_CHANGED,
};

use crate::domain::{Principal, Role, Session, SessionStatus};
use crate::error::ApiError;
use crate::store::StoreError;

/// Whether a caller may read a session: its customer, its agent, any agent while it waits in
/// the queue, any admin.
pub(crate) fn can_read(principal: &Principal, session: &Session) -> bool {
    match principal.role {
        Role::Admin => true,
        Role::Customer => session.customer_id == principal.user_id,
        Role::Agent => {
            session.agent_id.as_ref() == Some(&principal.user_id) || session.status == SessionStatus::Waiting
        }
    }
}

/// Whether a caller may read a session's private notes and its transcript: admins; its agent;
/// an agent who handled it before (a waiting or reopened session is readable by every agent, to
/// pick it up, but what was said about it only by those who served it: one read of their
/// participant record). Customers read their own transcript, without notes. The caller must
/// be able to read the session itself (`can_read`).
pub(crate) async fn may_read_history(
    store: &dyn crate::store::ItemStore,
    principal: &Principal,
    session: &Session,
) -> Result<bool, ApiError> {
    match principal.role {
        Role::Admin | Role::Customer => Ok(true),
        Role::Agent if session.agent_id.as_ref() == Some(&principal.user_id) => Ok(true),
        Role::Agent => {
            let participant =
                crate::repo::sessions::participant_record(store, &session.id, &principal.user_id).await?;
            Ok(participant.is_some_and(|p| p.role == Role::Agent))
        }
    }
}

/// 403 for an agent reading the notes or transcript of a session they never handled.
pub(crate) fn never_handled() -> ApiError {
    ApiError::forbidden(
        "session_not_handled",
        "an agent reads a waiting session's notes and transcript only if they handled it before",
    )
}

/// Whether a caller takes part in a session (and so may write to it).
pub(crate) fn is_participant(principal: &Principal, session: &Session) -> bool {
    match principal.role {
        Role::Customer => session.customer_id == principal.user_id,
        Role::Agent | Role::Admin => session.agent_id.as_ref() == Some(&principal.user_id),
    }
}

/// The names of the failed conditions of a cancelled transaction; other errors pass through.
pub(crate) fn failed_conditions(result: Result<(), StoreError>) -> Result<Vec<&'static str>, ApiError> {
    match result {
        Ok(()) => Ok(Vec::new()),
        Err(StoreError::TransactionCanceled { failed }) => Ok(failed),
        Err(other) => Err(other.into()),
    }
}

pub(crate) use crate::error::role_forbidden;

/// 403 unless the caller's role is one of `roles`. A handler calls it before it reads anything
/// else of the request, so a role that may not use an endpoint gets 403 whatever it sends, and
/// no parser ever runs on its input.
pub fn require_role(principal: &Principal, roles: &[Role], what: &str) -> Result<(), ApiError> {
    if roles.contains(&principal.role) {
        Ok(())
    } else {
        Err(role_forbidden(what))
    }
}

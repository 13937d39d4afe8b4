//! Sending, listing, editing, deleting messages and moving read markers.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::{
    now, AttachmentId, ClientMessageId, ConnectionId, EventKind, Message, MessageBody, MessageId, Principal,
    ReadMarker, Role, SessionId, SessionStatus, UserId,
};
use crate::error::ApiError;
use crate::repo::messages::{self, MessageWindow};
use crate::repo::{blocks, events, sessions};
use crate::store::{Cursor, ItemStore, TxOp};

use super::live::Skip;
use super::{failed_conditions, is_participant};
use crate::realtime::frames::ServerFrame;

/// The condition that the session is open and the sender may write to it (a send's session
/// update, a change's check).
const SESSION_WRITABLE: &str = "session_writable";
/// The condition that the sender (a customer) is not blocked.
const NOT_BLOCKED: &str = "not_blocked";
/// The condition that a send's `client_message_id` was not used before.
const CLIENT_ID_NEW: &str = "client_id_new";
/// The condition that a changed message is as it was read.
const MESSAGE_UNCHANGED: &str = "message_unchanged";

/// Body of `POST /chat/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// The session to write to.
    pub session_id: SessionId,
    /// The text, 1 to 4,000 characters; optional when the message carries attachments.
    #[serde(default)]
    pub body: Option<MessageBody>,
    /// The client's own id for this message: a retry with the same id returns the original.
    #[serde(default)]
    pub client_message_id: Option<ClientMessageId>,
    /// Attachments to send with it: ids from `POST /chat/sessions/{id}/attachments` of this
    /// session, uploaded by the sender, not rejected, not sent before (at most 5).
    #[serde(default)]
    pub attachments: Vec<AttachmentId>,
    /// How it came when not through the chat (set by the server, never by a client).
    #[serde(skip)]
    #[schema(ignore)]
    pub channel: Option<crate::domain::Channel>,
}

/// The outcome of a send: a new message, or the original of a retried one.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// Stored now, and reached these other users (on a connection subscribed to the session).
    Created(Message, Vec<UserId>),
    /// Stored by an earlier send with the same client message id.
    Replayed(Message),
}

/// A session's participant sends a message. Nothing is written to closed sessions (409), by
/// blocked customers (403), or twice for one client message id (the original comes back).
/// One conditional write when it succeeds; only a refusal reads, to explain itself — except
/// that an agent's send reads the session first, to record the first answer of a wait (with
/// its `session.first_response` event) in the same write. A new message is fanned out as
/// `message.created` to the session's subscribers but `origin` (the WebSocket connection it
/// came from, which gets it as the reply); a replayed one is not.
pub async fn send_message(
    app: &App,
    principal: &Principal,
    input: SendMessage,
    origin: Option<&ConnectionId>,
) -> Result<Sent, ApiError> {
    let store = app.store.as_ref();
    // A customer's block is read first (a strongly consistent GetItem: 1 read unit) rather than
    // checked in the transaction (a condition check costs 2 write units, ten times as much);
    // a send already on its way when the block is stored lands, as one sent a moment earlier
    // would have.
    if principal.role == Role::Customer && blocks::get(store, &principal.user_id).await?.is_some() {
        // A retry of a send stored before the block still gets its message back.
        if let Some(client_id) = &input.client_message_id {
            if let Some(stored) =
                messages::by_client_id(store, &input.session_id, &principal.user_id, client_id).await?
            {
                return Ok(Sent::Replayed(stored));
            }
        }
        return Err(ApiError::forbidden("user_blocked", "you are blocked from sending messages"));
    }
    let awaiting = match principal.role {
        Role::Customer => None,
        Role::Agent | Role::Admin => sessions::get(store, &input.session_id).await?.filter(|session| {
            session.status == SessionStatus::Active
                && session.agent_id.as_ref() == Some(&principal.user_id)
                && session.first_response_at.is_none()
        }),
    };
    match send_once(app, principal, &input, origin, awaiting.as_ref()).await {
        // Another answer of the same agent recorded the first response meanwhile.
        Err(ApiError::Conflict { code: "conflict", .. }) if awaiting.is_some() => {
            send_once(app, principal, &input, origin, None).await
        }
        other => other,
    }
}

async fn send_once(
    app: &App,
    principal: &Principal,
    input: &SendMessage,
    origin: Option<&ConnectionId>,
    awaiting: Option<&crate::domain::Session>,
) -> Result<Sent, ApiError> {
    let store = app.store.as_ref();
    let at = now();
    let id = MessageId::generate();
    let (attachments, attaching) = super::attachments::for_message(app, principal, input, &id).await?;
    let message = Message {
        id,
        session_id: input.session_id,
        sender_id: principal.user_id.clone(),
        sender_role: principal.role,
        // A message of attachments only has an empty text.
        body: Some(input.body.as_ref().map(|b| b.as_str().to_owned()).unwrap_or_default()),
        client_message_id: input.client_message_id.clone(),
        created_at: at,
        edited_at: None,
        deleted: false,
        attachments,
        channel: input.channel,
    };
    let mut ops = vec![
        sessions::touch_for_message(&input.session_id, principal, at, awaiting.is_some())?
            .named(SESSION_WRITABLE),
        messages::put_new(&message)?.named("message_new"),
    ];
    ops.extend(attaching);
    if awaiting.is_some() {
        let first_response = events::record(
            principal,
            EventKind::SessionFirstResponse,
            &sessions::partition(&input.session_id),
            format!("session:{}", input.session_id),
            Some(input.session_id),
            json!({"agent_id": principal.user_id, "message_id": message.id}),
            at,
        )?;
        ops.push(first_response.named("first_response_event"));
    }
    if let Some(client_id) = &input.client_message_id {
        ops.push(messages::claim_client_id(&message, client_id)?.named(CLIENT_ID_NEW));
    }
    let failed = failed_conditions(store.transact_write(ops).await)?;
    if failed.is_empty() {
        // The day's counters and the pushes to participants who are not connected follow from
        // the change feed (`crate::changes`), off the reply's path.
        let delivery = super::live::message_created(app, &message, origin).await;
        let delivered_to = delivery.reached.into_iter().filter(|user| *user != message.sender_id).collect();
        return Ok(Sent::Created(message, delivered_to));
    }
    if let Some(client_id) = &input.client_message_id {
        if failed.contains(&CLIENT_ID_NEW) {
            // A retry (or a concurrent twin) of a send that was stored: answer with that message,
            // even if the session closed since.
            return messages::by_client_id(store, &input.session_id, &principal.user_id, client_id)
                .await?
                .map(Sent::Replayed)
                .ok_or_else(|| {
                    ApiError::conflict("conflict", "a send with this client_message_id is in progress")
                });
        }
    }
    if failed.contains(&SESSION_WRITABLE) {
        let session = super::get_session(store, principal, &input.session_id).await?;
        if awaiting.is_some() && session.first_response_at.is_some() {
            return Err(ApiError::conflict("conflict", "the first answer was recorded meanwhile"));
        }
        if !is_participant(principal, &session) {
            return Err(ApiError::forbidden(
                "not_a_participant",
                "only the session's participants write to it",
            ));
        }
        if session.status == SessionStatus::Closed {
            return Err(ApiError::session_closed());
        }
    }
    if failed.contains(&super::attachments::ATTACHMENT_FREE) {
        return Err(super::attachments::attachment_taken());
    }
    Err(ApiError::conflict("conflict", "the session changed meanwhile; retry"))
}

/// How to page a session's messages.
#[derive(Debug, Clone)]
pub struct MessageListing {
    /// Only messages after this one.
    pub after: Option<MessageId>,
    /// Oldest first (the default) or newest first.
    pub ascending: bool,
    /// Page size.
    pub limit: usize,
    /// Where the previous page stopped.
    pub cursor: Option<Cursor>,
}

/// One page of a session's messages, for anyone who may read the session.
pub async fn list_messages(
    store: &dyn ItemStore,
    principal: &Principal,
    id: &SessionId,
    listing: MessageListing,
) -> Result<(Vec<Message>, Option<Cursor>), ApiError> {
    super::get_session(store, principal, id).await?;
    let window = MessageWindow { after: listing.after, ascending: listing.ascending };
    messages::list(store, id, window, listing.limit, listing.cursor).await
}

/// Body of `PATCH /chat/messages/{session_id}/{message_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessage {
    /// The new text, 1 to 4,000 characters.
    pub body: MessageBody,
}

/// The caller's own message. One read when it is: the session's state is checked inside the
/// write that follows. Only a refusal reads the session, to answer 404 or 403 without telling
/// strangers which sessions exist.
async fn own_message(
    store: &dyn ItemStore,
    principal: &Principal,
    session_id: &SessionId,
    id: &MessageId,
) -> Result<Message, ApiError> {
    match messages::get(store, session_id, id).await? {
        Some(message) if message.sender_id == principal.user_id => Ok(message),
        found => {
            super::get_session(store, principal, session_id).await?;
            match found {
                Some(_) => {
                    Err(ApiError::forbidden("not_message_sender", "only the sender may change a message"))
                }
                None => Err(ApiError::not_found("message_not_found", "no such message")),
            }
        }
    }
}

/// The sender replaces a message's text; subscribers get `message.updated`.
pub async fn edit_message(
    app: &App,
    principal: &Principal,
    session_id: &SessionId,
    id: &MessageId,
    input: EditMessage,
) -> Result<Message, ApiError> {
    let store = app.store.as_ref();
    let mut message = own_message(store, principal, session_id, id).await?;
    if message.deleted {
        return Err(ApiError::conflict("message_deleted", "a deleted message cannot be edited"));
    }
    let at = now();
    let changed_meanwhile = change_message(
        store,
        principal,
        &message,
        messages::edit(&message, input.body.as_str(), at)?,
        EventKind::MessageEdited,
        at,
    )
    .await?;
    if changed_meanwhile {
        return Err(ApiError::conflict("message_deleted", "the message was deleted meanwhile"));
    }
    message.body = Some(input.body.as_str().to_owned());
    message.edited_at = Some(at);
    let frame = ServerFrame::MessageUpdated { message: message.clone() };
    super::live::publish(app, session_id, &frame, Skip::Nobody).await;
    Ok(message)
}

/// The sender deletes a message: it stays as a tombstone without its body. Deleting a
/// tombstone again changes nothing. Subscribers get `message.deleted`.
pub async fn delete_message(
    app: &App,
    principal: &Principal,
    session_id: &SessionId,
    id: &MessageId,
) -> Result<Message, ApiError> {
    let store = app.store.as_ref();
    let message = own_message(store, principal, session_id, id).await?;
    if message.deleted {
        return Ok(message);
    }
    let at = now();
    let deleted_meanwhile = change_message(
        store,
        principal,
        &message,
        messages::tombstone(&message, at)?,
        EventKind::MessageDeleted,
        at,
    )
    .await?;
    let tombstone = Message { deleted: true, body: None, ..message };
    // A failed condition on the message means a concurrent delete won (and fans it out).
    if !deleted_meanwhile {
        let frame = ServerFrame::MessageDeleted { message: tombstone.clone() };
        super::live::publish(app, session_id, &frame, Skip::Nobody).await;
    }
    Ok(tombstone)
}

/// Applies a change to a message with its event, if the session is still open (409 if not) and
/// a customer changing it is not blocked (403 `user_blocked`); returns whether the change's own
/// condition failed (the message changed meanwhile).
async fn change_message(
    store: &dyn ItemStore,
    principal: &Principal,
    message: &Message,
    change: TxOp,
    kind: EventKind,
    at: time::OffsetDateTime,
) -> Result<bool, ApiError> {
    let session_id = message.session_id;
    let mut ops = vec![
        change.named(MESSAGE_UNCHANGED),
        TxOp::Check { key: sessions::key(&session_id), condition: sessions::open_condition() }
            .named(SESSION_WRITABLE),
        events::record(
            principal,
            kind,
            &sessions::partition(&session_id),
            format!("message:{session_id}/{}", message.id),
            Some(session_id),
            json!({}),
            at,
        )?
        .named("message_event"),
    ];
    if principal.role == Role::Customer {
        ops.push(blocks::not_blocked(&principal.user_id).named(NOT_BLOCKED));
    }
    let failed = failed_conditions(store.transact_write(ops).await)?;
    if failed.contains(&NOT_BLOCKED) {
        return Err(ApiError::forbidden("user_blocked", "you are blocked from changing messages"));
    }
    if failed.contains(&SESSION_WRITABLE) {
        return Err(ApiError::session_closed());
    }
    Ok(failed.contains(&MESSAGE_UNCHANGED))
}

/// Body of `POST /chat/sessions/{id}/read`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// The newest message the caller has read.
    pub message_id: MessageId,
}

/// Moves the caller's read marker forward to a message of the session (never backwards; an
/// older message leaves the marker where it is and returns it). One conditional write. A marker
/// that moved is fanned out as a `read` receipt to the session's subscribers but `origin`.
pub async fn mark_read(
    app: &App,
    principal: &Principal,
    session_id: &SessionId,
    input: MarkRead,
    origin: Option<&ConnectionId>,
) -> Result<ReadMarker, ApiError> {
    let Some(marker) = advance_read(app, principal, session_id, &input.message_id).await? else {
        return sessions::read_marker(app.store.as_ref(), session_id, &principal.user_id)
            .await?
            .ok_or_else(|| ApiError::Internal("a read marker vanished".into()));
    };
    super::live::message_read(app, &principal.user_id, session_id, &input.message_id, origin).await;
    Ok(marker)
}

/// Moves the caller's read marker forward to `message`, telling no one: the marker when it
/// moved (the caller tells the others), none when it was at that message or past it already.
pub(crate) async fn advance_read(
    app: &App,
    principal: &Principal,
    session_id: &SessionId,
    message: &MessageId,
) -> Result<Option<ReadMarker>, ApiError> {
    let store = app.store.as_ref();
    let marker = ReadMarker {
        session_id: *session_id,
        user_id: principal.user_id.clone(),
        last_read_message_id: *message,
        read_at: now(),
    };
    // Reads, then one conditional write: the checks need not hold in the same instant as the
    // write (a marker is the reader's own state, and messages are never deleted, only
    // tombstoned), and a transaction would cost 2 write units per item checked.
    let (session, message_exists) = sessions::get_with_message(store, session_id, message).await?;
    if !session.is_some_and(|session| super::can_read(principal, &session)) {
        return Err(ApiError::session_not_found());
    }
    if !message_exists {
        return Err(ApiError::not_found("message_not_found", "no such message in this session"));
    }
    Ok(sessions::advance_read_marker(store, &marker).await?.then_some(marker))
}

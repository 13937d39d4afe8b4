//! Chat REST handlers: sessions, participants, messages, read markers, blocks, rooms and the
//! support side's private notes on sessions.
//! Each parses the request, calls one operation of `switchboard_shared::ops`, shapes the reply.

use lambda_http::Request;
use switchboard_shared::domain::tools::Note;
use switchboard_shared::domain::{
    Message, MessageId, NoteId, Participant, Rating, ReadMarker, Role, Room, Session, SessionId,
    SessionStatus, UserId,
};
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{
    json, json_body, json_body_or_empty, page_request, path_param, principal, query_param, HandlerResult,
    ListPage,
};
use switchboard_shared::ops::{
    self, BlockStatus, BlockUser, CreateRoom, CreateSession, EditMessage, MarkRead, RateSession, Rated,
    SendMessage, Sent, UpdateSession, WriteNote,
};
use switchboard_shared::{http_function, ApiError, App};

http_function!(
    /// `POST /chat/sessions`
    CREATE_SESSION = "chat-create-session" => create_session
);
http_function!(
    /// `GET /chat/sessions`
    LIST_SESSIONS = "chat-list-sessions" => list_sessions
);
http_function!(
    /// `GET /chat/sessions/{id}`
    GET_SESSION = "chat-get-session" => get_session
);
http_function!(
    /// `PATCH /chat/sessions/{id}`
    UPDATE_SESSION = "chat-update-session" => update_session
);
http_function!(
    /// `POST /chat/sessions/{id}/close`
    CLOSE_SESSION = "chat-close-session" => close_session
);
http_function!(
    /// `POST /chat/sessions/{id}/reopen`
    REOPEN_SESSION = "chat-reopen-session" => reopen_session
);
http_function!(
    /// `POST /chat/sessions/{id}/rating`
    RATE_SESSION = "chat-rate-session" => rate_session
);
http_function!(
    /// `GET /chat/sessions/{id}/participants`
    LIST_PARTICIPANTS = "chat-list-participants" => list_participants
);
http_function!(
    /// `POST /chat/sessions/{id}/read`
    MARK_READ = "chat-mark-read" => mark_read
);
http_function!(
    /// `POST /chat/messages`
    SEND_MESSAGE = "chat-send-message" => send_message
);
http_function!(
    /// `GET /chat/messages/{session_id}`
    LIST_MESSAGES = "chat-list-messages" => list_messages
);
http_function!(
    /// `PATCH /chat/messages/{session_id}/{message_id}`
    EDIT_MESSAGE = "chat-edit-message" => edit_message
);
http_function!(
    /// `DELETE /chat/messages/{session_id}/{message_id}`
    DELETE_MESSAGE = "chat-delete-message" => delete_message
);
http_function!(
    /// `POST /chat/users/{id}/block`
    BLOCK_USER = "chat-block-user" => block_user
);
http_function!(
    /// `POST /chat/users/{id}/unblock`
    UNBLOCK_USER = "chat-unblock-user" => unblock_user
);
http_function!(
    /// `GET /chat/users/blocked`
    LIST_BLOCKED_USERS = "chat-list-blocked-users" => list_blocked_users
);
http_function!(
    /// `GET /chat/rooms`
    LIST_ROOMS = "chat-list-rooms" => list_rooms
);
http_function!(
    /// `POST /chat/rooms`
    CREATE_ROOM = "chat-create-room" => create_room
);
http_function!(
    /// `GET /chat/sessions/{id}/notes`
    LIST_NOTES = "chat-list-notes" => list_notes
);
http_function!(
    /// `POST /chat/sessions/{id}/notes`
    CREATE_NOTE = "chat-create-note" => create_note
);
http_function!(
    /// `PATCH /chat/sessions/{id}/notes/{note_id}`
    EDIT_NOTE = "chat-edit-note" => edit_note
);

/// Every function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[
    CREATE_SESSION,
    LIST_SESSIONS,
    GET_SESSION,
    UPDATE_SESSION,
    CLOSE_SESSION,
    REOPEN_SESSION,
    RATE_SESSION,
    LIST_PARTICIPANTS,
    MARK_READ,
    SEND_MESSAGE,
    LIST_MESSAGES,
    EDIT_MESSAGE,
    DELETE_MESSAGE,
    BLOCK_USER,
    UNBLOCK_USER,
    LIST_BLOCKED_USERS,
    LIST_ROOMS,
    CREATE_ROOM,
    LIST_NOTES,
    CREATE_NOTE,
    EDIT_NOTE,
];

/// A customer opens a session; it is routed at once to an online agent with room for it, or
/// waits in the queue (the reply then carries `queue_position` and `estimated_wait_seconds`).
#[utoipa::path(post, path = "/chat/sessions", tag = "chat", request_body = CreateSession,
    responses((status = 201, body = Session), (status = 403, description = "not a customer, or blocked", body = ErrorBody),
        (status = 404, description = "no such room", body = ErrorBody),
        (status = 409, description = "too_many_open_sessions", body = ErrorBody),
        (status = 422, description = "priority urgent (customers choose at most high), or a bad field", body = ErrorBody)))]
pub async fn create_session(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Customer], "open sessions; only customers do")?;
    let input: CreateSession = json_body(&req)?;
    json(201, &ops::create_session(app, &principal, input).await?)
}

/// Lists the sessions the caller sees: customers their own, agents their own or the waiting
/// queue (`?status=waiting`, urgent first, then oldest), admins any status (default active).
/// With `?customer_of=<session id>`, staff who may read that session list its customer's
/// sessions, newest first (the customer's earlier conversations beside the one they serve).
#[utoipa::path(get, path = "/chat/sessions", tag = "chat",
    params(("status" = Option<SessionStatus>, Query, description = "waiting | active | closed"),
        ("customer_of" = Option<SessionId>, Query, description = "a session the caller (agent or admin) may read: list its customer's sessions instead"),
        ("limit" = Option<usize>, Query, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, body = ListPage<Session>), (status = 400, body = ErrorBody),
        (status = 403, description = "customer_of from a customer", body = ErrorBody),
        (status = 404, description = "customer_of names a session the caller may not read", body = ErrorBody)))]
pub async fn list_sessions(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let page = page_request(&req)?;
    let status = query_param(&req, "status")
        .map(|s| SessionStatus::parse(&s))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_status", e.to_string()))?;
    let customer_of = query_param(&req, "customer_of")
        .map(|id| id.parse::<SessionId>())
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_parameter", format!("customer_of: {e}")))?;
    let store = app.store.as_ref();
    let (items, next) = match customer_of {
        Some(of) => ops::customer_sessions(store, &principal, &of, status, page.limit, page.cursor).await?,
        None => ops::list_sessions(store, &principal, status, page.limit, page.cursor).await?,
    };
    json(200, &ListPage::new(items, next))
}

/// One session, if the caller may see it (others' sessions are 404).
#[utoipa::path(get, path = "/chat/sessions/{id}", tag = "chat", params(("id" = SessionId, Path)),
    responses((status = 200, body = Session), (status = 404, body = ErrorBody)))]
pub async fn get_session(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "id")?;
    json(200, &ops::get_session(app.store.as_ref(), &principal, &id).await?)
}

/// Staff change an open session's priority: its agent, or an admin. Logged in the event log.
#[utoipa::path(patch, path = "/chat/sessions/{id}", tag = "chat", params(("id" = SessionId, Path)),
    request_body = UpdateSession,
    responses((status = 200, body = Session),
        (status = 403, description = "a customer, or an agent whose session it is not", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "session_closed", body = ErrorBody),
        (status = 422, description = "an unknown priority", body = ErrorBody)))]
pub async fn update_session(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "id")?;
    let input: UpdateSession = json_body(&req)?;
    json(200, &ops::update_session(app, &principal, &id, input).await?)
}

/// Closes a session (its customer, its agent or an admin); closing twice is 409.
#[utoipa::path(post, path = "/chat/sessions/{id}/close", tag = "chat", params(("id" = SessionId, Path)),
    responses((status = 200, body = Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "session_closed", body = ErrorBody)))]
pub async fn close_session(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "id")?;
    json(200, &ops::close_session(app, &principal, &id).await?)
}

/// The session's customer (or an admin) reopens a session closed less than 7 days ago: it
/// waits in the queue again and is routed.
#[utoipa::path(post, path = "/chat/sessions/{id}/reopen", tag = "chat", params(("id" = SessionId, Path)),
    responses((status = 200, body = Session), (status = 403, description = "agents, or a blocked customer", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "session_not_closed, reopen_window_passed or too_many_open_sessions", body = ErrorBody)))]
pub async fn reopen_session(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "id")?;
    json(200, &ops::reopen_session(app, &principal, &id).await?)
}

/// The session's customer rates it (1 to 5, optional comment) once it is closed: 201 for the
/// first rating, 200 for a change within 7 days of it.
#[utoipa::path(post, path = "/chat/sessions/{id}/rating", tag = "chat", params(("id" = SessionId, Path)),
    request_body = RateSession,
    responses((status = 201, body = Rating), (status = 200, description = "a change of the rating", body = Rating),
        (status = 403, description = "not the session's customer", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "session_not_closed or rating_locked", body = ErrorBody),
        (status = 422, description = "score outside 1-5, comment too long", body = ErrorBody)))]
pub async fn rate_session(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Customer], "rate sessions; the session's customer does")?;
    let id: SessionId = path_param(&req, "id")?;
    let input: RateSession = json_body(&req)?;
    match ops::rate_session(app, &principal, &id, input).await? {
        Rated::First(rating) => json(201, &rating),
        Rated::Changed(rating) => json(200, &rating),
    }
}

/// The session's participants.
#[utoipa::path(get, path = "/chat/sessions/{id}/participants", tag = "chat",
    params(("id" = SessionId, Path), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<Participant>), (status = 404, body = ErrorBody)))]
pub async fn list_participants(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "id")?;
    let page = page_request(&req)?;
    let (items, next) =
        ops::list_participants(app.store.as_ref(), &principal, &id, page.limit, page.cursor).await?;
    json(200, &ListPage::new(items, next))
}

/// Moves the caller's read marker forward (never back).
#[utoipa::path(post, path = "/chat/sessions/{id}/read", tag = "chat", params(("id" = SessionId, Path)),
    request_body = MarkRead,
    responses((status = 200, body = ReadMarker), (status = 404, description = "no such session or message", body = ErrorBody)))]
pub async fn mark_read(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "id")?;
    let input: MarkRead = json_body(&req)?;
    json(200, &ops::mark_read(app, &principal, &id, input, None).await?)
}

/// Sends a message: 201 when stored, 200 with the original for a retried `client_message_id`.
#[utoipa::path(post, path = "/chat/messages", tag = "chat", request_body = SendMessage,
    responses((status = 201, body = Message), (status = 200, description = "a retry: the original message", body = Message),
        (status = 403, description = "not a participant, or blocked", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "session_closed", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn send_message(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let input: SendMessage = json_body(&req)?;
    match ops::send_message(app, &principal, input, None).await? {
        Sent::Created(message, _) => json(201, &message),
        Sent::Replayed(message) => json(200, &message),
    }
}

/// A page of a session's messages, oldest first (`?order=desc` for newest first);
/// `?after=<message id>` returns only what came after, to resync after a reconnect.
#[utoipa::path(get, path = "/chat/messages/{session_id}", tag = "chat",
    params(("session_id" = SessionId, Path), ("after" = Option<MessageId>, Query),
        ("order" = Option<String>, Query, description = "asc (default) or desc"),
        ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<Message>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_messages(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "session_id")?;
    let page = page_request(&req)?;
    let after = query_param(&req, "after")
        .map(|a| MessageId::parse(&a))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))?;
    let ascending = match query_param(&req, "order").as_deref() {
        None | Some("asc") => true,
        Some("desc") => false,
        Some(_) => return Err(ApiError::bad_request("invalid_order", "order must be asc or desc")),
    };
    let listing = ops::MessageListing { after, ascending, limit: page.limit, cursor: page.cursor };
    let (items, next) = ops::list_messages(app.store.as_ref(), &principal, &id, listing).await?;
    json(200, &ListPage::new(items, next))
}

/// The sender edits a message.
#[utoipa::path(patch, path = "/chat/messages/{session_id}/{message_id}", tag = "chat",
    params(("session_id" = SessionId, Path), ("message_id" = MessageId, Path)), request_body = EditMessage,
    responses((status = 200, body = Message),
        (status = 403, description = "not the sender, or a blocked customer (user_blocked)", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "session_closed or message_deleted", body = ErrorBody)))]
pub async fn edit_message(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let session_id: SessionId = path_param(&req, "session_id")?;
    let message_id: MessageId = path_param(&req, "message_id")?;
    let input: EditMessage = json_body(&req)?;
    json(200, &ops::edit_message(app, &principal, &session_id, &message_id, input).await?)
}

/// The sender deletes a message; a tombstone (`deleted: true`, no body) remains.
#[utoipa::path(delete, path = "/chat/messages/{session_id}/{message_id}", tag = "chat",
    params(("session_id" = SessionId, Path), ("message_id" = MessageId, Path)),
    responses((status = 200, body = Message),
        (status = 403, description = "not the sender, or a blocked customer (user_blocked)", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn delete_message(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let session_id: SessionId = path_param(&req, "session_id")?;
    let message_id: MessageId = path_param(&req, "message_id")?;
    json(200, &ops::delete_message(app, &principal, &session_id, &message_id).await?)
}

/// An agent or admin blocks a customer from opening sessions and sending, editing or deleting
/// messages; agents and admins are not blocked.
#[utoipa::path(post, path = "/chat/users/{id}/block", tag = "chat", params(("id" = UserId, Path)),
    request_body(content = BlockUser, description = "optional"),
    responses((status = 200, body = BlockStatus),
        (status = 403, description = "a customer, or the user is an agent or admin (cannot_block_staff)", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn block_user(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Agent, Role::Admin], "block users")?;
    let user: UserId = path_param(&req, "id")?;
    let input: BlockUser = json_body_or_empty(&req)?;
    json(200, &ops::block_user(app.store.as_ref(), &principal, &user, input).await?)
}

/// An admin, or the agent who blocked the user, lifts a block.
#[utoipa::path(post, path = "/chat/users/{id}/unblock", tag = "chat", params(("id" = UserId, Path)),
    responses((status = 200, body = BlockStatus),
        (status = 403, description = "a customer, or an agent who did not block the user (not_blocker)", body = ErrorBody),
        (status = 409, description = "the block changed meanwhile", body = ErrorBody)))]
pub async fn unblock_user(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Agent, Role::Admin], "unblock users")?;
    let user: UserId = path_param(&req, "id")?;
    json(200, &ops::unblock_user(app.store.as_ref(), &principal, &user).await?)
}

/// The blocked users, newest block first, for agents and admins; `?user_id=` answers one user's
/// block status (a one-item page, `blocked: false` when they are not blocked).
#[utoipa::path(get, path = "/chat/users/blocked", tag = "chat",
    params(("user_id" = Option<UserId>, Query, description = "only this user's block status"),
        ("limit" = Option<usize>, Query, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, body = ListPage<BlockStatus>), (status = 400, body = ErrorBody),
        (status = 403, description = "a customer", body = ErrorBody)))]
pub async fn list_blocked_users(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Agent, Role::Admin], "list blocked users")?;
    let page = page_request(&req)?;
    let user = query_param(&req, "user_id")
        .map(|raw| UserId::parse(&raw))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_parameter", format!("user_id: {e}")))?;
    json(
        200,
        &ops::list_blocks(app.store.as_ref(), &principal, user.as_ref(), page.limit, page.cursor).await?,
    )
}

/// The rooms, for everyone signed in.
#[utoipa::path(get, path = "/chat/rooms", tag = "chat",
    params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<Room>), (status = 400, body = ErrorBody)))]
pub async fn list_rooms(app: &App, req: Request) -> HandlerResult {
    principal(&req)?;
    let page = page_request(&req)?;
    let (items, next) = ops::list_rooms(app.store.as_ref(), page.limit, page.cursor).await?;
    json(200, &ListPage::new(items, next))
}

/// An admin creates a room.
#[utoipa::path(post, path = "/chat/rooms", tag = "chat", request_body = CreateRoom,
    responses((status = 201, body = Room), (status = 403, body = ErrorBody), (status = 409, description = "room_name_taken", body = ErrorBody)))]
pub async fn create_room(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Admin], "create rooms; only admins do")?;
    let input: CreateRoom = json_body(&req)?;
    json(201, &ops::create_room(app.store.as_ref(), &principal, input).await?)
}

/// The session's private notes, oldest first: admins, the session's agent and agents who
/// handled it before; customers and other agents get 403.
#[utoipa::path(get, path = "/chat/sessions/{id}/notes", tag = "chat",
    params(("id" = SessionId, Path), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<Note>),
        (status = 403, description = "a customer, or an agent who never handled the session (session_not_handled)", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list_notes(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_staff(&principal)?;
    let id: SessionId = path_param(&req, "id")?;
    let page = page_request(&req)?;
    let (items, next) = ops::list_notes(app.store.as_ref(), &principal, &id, page.limit, page.cursor).await?;
    json(200, &ListPage::new(items, next))
}

/// Adds a private note (Markdown) to a session, open or closed; never shown to the customer.
#[utoipa::path(post, path = "/chat/sessions/{id}/notes", tag = "chat", params(("id" = SessionId, Path)),
    request_body = WriteNote,
    responses((status = 201, body = Note), (status = 403, description = "a customer", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_note(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_staff(&principal)?;
    let id: SessionId = path_param(&req, "id")?;
    let input: WriteNote = json_body(&req)?;
    json(201, &ops::create_note(app.store.as_ref(), &principal, &id, input).await?)
}

/// The author replaces a note's text (for an autosaving notes panel).
#[utoipa::path(patch, path = "/chat/sessions/{id}/notes/{note_id}", tag = "chat",
    params(("id" = SessionId, Path), ("note_id" = NoteId, Path)), request_body = WriteNote,
    responses((status = 200, body = Note),
        (status = 403, description = "a customer, or not the note's author", body = ErrorBody),
        (status = 404, description = "session_not_found or note_not_found", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn edit_note(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_staff(&principal)?;
    let id: SessionId = path_param(&req, "id")?;
    let note_id: NoteId = path_param(&req, "note_id")?;
    let input: WriteNote = json_body(&req)?;
    json(200, &ops::edit_note(app.store.as_ref(), &principal, &id, &note_id, input).await?)
}

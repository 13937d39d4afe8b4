//! Private notes on sessions: the support side's own remarks, which no customer ever sees — not
//! in message lists, not over the WebSocket (notes are never fanned out), not in pushes.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::domain::tools::{Note, NoteBody};
use crate::domain::{now, EventKind, NoteId, Principal, SessionId};
use crate::error::ApiError;
use crate::repo::{events, notes, sessions};
use crate::store::{Cursor, ItemStore};

use super::canned::require_staff;
use super::failed_conditions;

/// The condition of a note's creation that the caller may read the session.
const SESSION_READABLE: &str = "session_readable";

/// Body of `POST /chat/sessions/{id}/notes` and `PATCH /chat/sessions/{id}/notes/{note_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteNote {
    /// Markdown, 1 to 10,000 characters.
    pub body: NoteBody,
}

/// An agent who may read the session (or an admin) adds a note, to open and closed sessions
/// alike. One transaction: the session's readability is its condition, so a refused note
/// writes nothing.
pub async fn create_note(
    store: &dyn ItemStore,
    principal: &Principal,
    session_id: &SessionId,
    input: WriteNote,
) -> Result<Note, ApiError> {
    require_staff(principal)?;
    let at = now();
    let note = Note {
        id: NoteId::generate(),
        session_id: *session_id,
        author_id: principal.user_id.clone(),
        author_role: principal.role,
        author_name: principal.name.clone(),
        body: input.body.as_str().to_owned(),
        created_at: at,
        edited_at: None,
    };
    let ops = vec![
        sessions::readable_by(session_id, principal).named(SESSION_READABLE),
        notes::put_new(&note)?.named("note_new"),
        // The log says a note was written, never what it says.
        events::record(
            principal,
            EventKind::NoteCreated,
            &sessions::partition(session_id),
            format!("note:{session_id}/{}", note.id),
            Some(*session_id),
            json!({}),
            at,
        )?
        .named("note_event"),
    ];
    let failed = failed_conditions(store.transact_write(ops).await)?;
    if failed.contains(&SESSION_READABLE) {
        return Err(ApiError::session_not_found());
    }
    if !failed.is_empty() {
        return Err(ApiError::Internal(format!("note create cancelled at {failed:?}")));
    }
    Ok(note)
}

/// One page of a session's notes, oldest first, for admins, the session's agent and agents who
/// handled it before (403 `session_not_handled` for other agents, who may still read a waiting
/// session's messages).
pub async fn list_notes(
    store: &dyn ItemStore,
    principal: &Principal,
    session_id: &SessionId,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Note>, Option<Cursor>), ApiError> {
    require_staff(principal)?;
    let session = super::get_session(store, principal, session_id).await?;
    if !super::may_read_history(store, principal, &session).await? {
        return Err(super::never_handled());
    }
    notes::list(store, session_id, limit, cursor).await
}

/// The author replaces a note's text (an autosaving notes panel calls this often, so edits are
/// not logged as events: `edited_at` records the last one). Others get 403, unknown notes 404.
pub async fn edit_note(
    store: &dyn ItemStore,
    principal: &Principal,
    session_id: &SessionId,
    note_id: &NoteId,
    input: WriteNote,
) -> Result<Note, ApiError> {
    require_staff(principal)?;
    super::get_session(store, principal, session_id).await?;
    let edited =
        notes::edit(store, session_id, note_id, &principal.user_id, input.body.as_str(), now()).await?;
    if let Some(note) = edited {
        return Ok(note);
    }
    match notes::get(store, session_id, note_id).await? {
        None => Err(ApiError::not_found("note_not_found", "no such note in this session")),
        Some(_) => Err(ApiError::forbidden("not_note_author", "only a note's author edits it")),
    }
}

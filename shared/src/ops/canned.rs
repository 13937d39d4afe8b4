//! Canned responses: the support side's reusable replies — personal, per room or global — and
//! their placeholders filled for a session.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::domain::tools::{
    canned_access, render, CannedAccess, CannedBody, CannedBodyError, CannedResponse, CannedScope,
    CannedTitle, RenderContext, Shortcode,
};
use crate::domain::{now, CannedResponseId, EventKind, Principal, Role, RoomId, SessionId};
use crate::error::ApiError;
use crate::repo::canned::{self, ScopeKey, Segment};
use crate::repo::{agents, events, rooms};
use crate::store::{Cursor, ItemStore};

use super::{failed_conditions, role_forbidden};

/// The conditions of the canned responses' transactions that answer with their own error.
/// The shortcode is free in the scope.
const SHORTCODE_FREE: &str = "shortcode_free";
/// The named room exists.
const ROOM_EXISTS: &str = "room_exists";
/// The response is as it was read.
const RESPONSE_UNCHANGED: &str = "response_unchanged";

/// 403 for customers, who have no agent tools.
pub fn require_staff(principal: &Principal) -> Result<(), ApiError> {
    if principal.role.is_staff() {
        Ok(())
    } else {
        Err(role_forbidden("use agent tools; only agents and admins do"))
    }
}

/// Body of `POST /agent/canned-responses`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCannedResponse {
    /// `personal` (yours), `room` (everyone serving `room_id`) or `global` (admins only).
    pub scope: CannedScope,
    /// The room of a room response; only with `scope: room`.
    #[serde(default)]
    pub room_id: Option<RoomId>,
    /// 1 to 32 of `a-z 0-9 _ -`, unique within the scope.
    pub shortcode: Shortcode,
    /// 1 to 100 characters.
    pub title: CannedTitle,
    /// 1 to 4,000 characters; placeholders `{{customer.name}}`, `{{customer.id}}`,
    /// `{{agent.name}}`, `{{agent.id}}`, `{{session.id}}`, `{{session.subject}}`.
    pub body: String,
}

/// Body of `PUT /agent/canned-responses/{id}`: replaces these three; scope and room stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCannedResponse {
    /// 1 to 32 of `a-z 0-9 _ -`, unique within the scope.
    pub shortcode: Shortcode,
    /// 1 to 100 characters.
    pub title: CannedTitle,
    /// 1 to 4,000 characters, known placeholders only.
    pub body: String,
}

/// Body of `POST /agent/canned-responses/{id}/render`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderCannedResponse {
    /// The session the reply is for (the caller must be able to read it).
    pub session_id: SessionId,
}

/// A canned response's text with its placeholders filled.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RenderedCannedResponse {
    /// The text, ready to send.
    pub body: String,
}

/// What `GET /agent/canned-responses` lists.
#[derive(Debug, Clone, Default)]
pub struct CannedListing {
    /// Only this scope.
    pub scope: Option<CannedScope>,
    /// Only this room's responses (implies `scope=room`).
    pub room_id: Option<RoomId>,
    /// Only shortcodes starting with this.
    pub shortcode: Option<Shortcode>,
    /// Page size.
    pub limit: usize,
    /// Where the previous page stopped.
    pub cursor: Option<Cursor>,
}

fn body_error(error: CannedBodyError) -> ApiError {
    match error {
        CannedBodyError::Invalid(invalid) => invalid.into(),
        CannedBodyError::UnknownPlaceholder { .. } => {
            ApiError::unprocessable("unknown_placeholder", error.to_string())
        }
        CannedBodyError::Unclosed => ApiError::unprocessable("unclosed_placeholder", error.to_string()),
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("canned_response_not_found", "no such canned response")
}

fn shortcode_taken(shortcode: &Shortcode) -> ApiError {
    ApiError::conflict(
        "shortcode_taken",
        format!("the shortcode {:?} is taken in this scope", shortcode.as_str()),
    )
}

fn changed_meanwhile() -> ApiError {
    ApiError::conflict("conflict", "the canned response changed meanwhile; read it again and retry")
}

fn room_not_served() -> ApiError {
    ApiError::forbidden("room_not_served", "you do not serve that room")
}

/// Whether the caller serves `room`: admins every room; agents the rooms of their floor state
/// (none set, or no state at all: every room). Reads the agent's state.
async fn serves_room(store: &dyn ItemStore, principal: &Principal, room: &RoomId) -> Result<bool, ApiError> {
    match principal.role {
        Role::Admin => Ok(true),
        Role::Customer => Ok(false),
        Role::Agent => {
            Ok(agents::get(store, &principal.user_id).await?.is_none_or(|state| state.serves(Some(room))))
        }
    }
}

/// A response and what the caller may do with it; 404 when they may not know it exists.
async fn visible(
    store: &dyn ItemStore,
    principal: &Principal,
    id: &CannedResponseId,
) -> Result<(CannedResponse, CannedAccess), ApiError> {
    let response = canned::get(store, id).await?.ok_or_else(not_found)?;
    let serves = match (principal.role, response.scope, &response.room_id) {
        (Role::Agent, CannedScope::Room, Some(room)) => serves_room(store, principal, room).await?,
        _ => false,
    };
    match canned_access(principal, response.scope, &response.owner_id, serves) {
        CannedAccess::Hidden => Err(not_found()),
        access => Ok((response, access)),
    }
}

/// 403 unless the caller may change what they can see.
fn require_write(access: CannedAccess) -> Result<(), ApiError> {
    if access == CannedAccess::Write {
        Ok(())
    } else {
        Err(ApiError::forbidden("forbidden", "only admins change global canned responses"))
    }
}

/// An agent creates a personal response or one for a room they serve; an admin any. The
/// shortcode must be free in the scope (409 `shortcode_taken`); a room must exist (404).
pub async fn create_canned_response(
    store: &dyn ItemStore,
    principal: &Principal,
    input: CreateCannedResponse,
) -> Result<CannedResponse, ApiError> {
    require_staff(principal)?;
    let body = CannedBody::parse(&input.body).map_err(body_error)?;
    let room_id = match (input.scope, input.room_id) {
        (CannedScope::Room, Some(room)) => Some(room),
        (CannedScope::Room, None) => {
            return Err(ApiError::unprocessable("validation_failed", "room_id: a room response needs a room"))
        }
        (_, Some(_)) => {
            return Err(ApiError::unprocessable(
                "validation_failed",
                "room_id: only room responses have a room",
            ))
        }
        (_, None) => None,
    };
    let serves = match &room_id {
        Some(room) => serves_room(store, principal, room).await?,
        None => false,
    };
    if canned_access(principal, input.scope, &principal.user_id, serves) != CannedAccess::Write {
        return Err(match input.scope {
            CannedScope::Room => room_not_served(),
            _ => ApiError::forbidden("forbidden", "only admins write global canned responses"),
        });
    }
    let at = now();
    let response = CannedResponse {
        id: CannedResponseId::generate(),
        scope: input.scope,
        room_id,
        owner_id: principal.user_id.clone(),
        shortcode: input.shortcode,
        title: input.title.as_str().to_owned(),
        body: body.as_str().to_owned(),
        created_at: at,
        updated_at: at,
    };
    let [put, reserve] = canned::put_new(&response)?;
    let mut ops = vec![
        put.named("response_new"),
        reserve.named(SHORTCODE_FREE),
        event(principal, EventKind::CannedCreated, &response, at)?.named("created_event"),
    ];
    if let Some(room) = &room_id {
        ops.push(rooms::exists(room).named(ROOM_EXISTS));
    }
    let failed = failed_conditions(store.transact_write(ops).await)?;
    if failed.contains(&ROOM_EXISTS) {
        return Err(ApiError::not_found("room_not_found", "no such room"));
    }
    if failed.contains(&SHORTCODE_FREE) {
        return Err(shortcode_taken(&response.shortcode));
    }
    if !failed.is_empty() {
        return Err(ApiError::Internal(format!("canned response create cancelled at {failed:?}")));
    }
    Ok(response)
}

/// The audit event of a change, in the response's partition; it names the scope and the
/// shortcode, never the text.
fn event(
    principal: &Principal,
    kind: EventKind,
    response: &CannedResponse,
    at: time::OffsetDateTime,
) -> Result<crate::store::TxOp, ApiError> {
    events::record(
        principal,
        kind,
        &canned::partition(&response.id),
        format!("canned:{}", response.id),
        None,
        json!({"scope": response.scope, "room_id": response.room_id, "shortcode": response.shortcode}),
        at,
    )
}

/// Replaces a response's shortcode, title and body (scope and room stay). A new shortcode must
/// be free in the scope (409 `shortcode_taken`); the old one is released in the same write.
pub async fn update_canned_response(
    store: &dyn ItemStore,
    principal: &Principal,
    id: &CannedResponseId,
    input: UpdateCannedResponse,
) -> Result<CannedResponse, ApiError> {
    require_staff(principal)?;
    let body = CannedBody::parse(&input.body).map_err(body_error)?;
    let (previous, access) = visible(store, principal, id).await?;
    require_write(access)?;
    let updated = CannedResponse {
        shortcode: input.shortcode,
        title: input.title.as_str().to_owned(),
        body: body.as_str().to_owned(),
        updated_at: now(),
        ..previous.clone()
    };
    let (update, renamed) = canned::replace(&previous, &updated)?;
    let mut ops = vec![update.named(RESPONSE_UNCHANGED)];
    if let Some([reserve, release]) = renamed {
        ops.extend([reserve.named(SHORTCODE_FREE), release.named("old_shortcode_released")]);
    }
    ops.push(
        event(principal, EventKind::CannedUpdated, &updated, updated.updated_at)?.named("updated_event"),
    );
    let failed = failed_conditions(store.transact_write(ops).await)?;
    if failed.contains(&RESPONSE_UNCHANGED) {
        return Err(changed_meanwhile());
    }
    if failed.contains(&SHORTCODE_FREE) {
        return Err(shortcode_taken(&updated.shortcode));
    }
    if !failed.is_empty() {
        return Err(ApiError::Internal(format!("canned response update cancelled at {failed:?}")));
    }
    Ok(updated)
}

/// Deletes a response and frees its shortcode.
pub async fn delete_canned_response(
    store: &dyn ItemStore,
    principal: &Principal,
    id: &CannedResponseId,
) -> Result<(), ApiError> {
    require_staff(principal)?;
    let (previous, access) = visible(store, principal, id).await?;
    require_write(access)?;
    let [delete, release] = canned::delete(&previous)?;
    let ops = vec![
        delete.named(RESPONSE_UNCHANGED),
        release.named("shortcode_released"),
        event(principal, EventKind::CannedDeleted, &previous, now())?.named("deleted_event"),
    ];
    let failed = failed_conditions(store.transact_write(ops).await)?;
    if !failed.is_empty() {
        return Err(changed_meanwhile());
    }
    Ok(())
}

/// A response the caller may read, filled for a session they may read (404 otherwise): the
/// session's customer and subject, and the caller as the agent.
pub async fn render_canned_response(
    store: &dyn ItemStore,
    principal: &Principal,
    id: &CannedResponseId,
    input: RenderCannedResponse,
) -> Result<RenderedCannedResponse, ApiError> {
    require_staff(principal)?;
    let (response, _) = visible(store, principal, id).await?;
    let session = super::get_session(store, principal, &input.session_id).await?;
    let context = RenderContext {
        customer_id: session.customer_id.as_str(),
        customer_name: session.customer_name.as_deref(),
        agent_id: principal.user_id.as_str(),
        agent_name: principal.name.as_deref(),
        session_id: session.id.to_string(),
        session_subject: &session.subject,
    };
    Ok(RenderedCannedResponse { body: render(&response.body, &context) })
}

/// The partitions a listing reads, in the order it reads them.
async fn segments(
    store: &dyn ItemStore,
    principal: &Principal,
    listing: &CannedListing,
) -> Result<Vec<Segment>, ApiError> {
    let scope = match (listing.scope, listing.room_id) {
        (None | Some(CannedScope::Room), Some(_)) => Some(CannedScope::Room),
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("invalid_query", "room_id goes only with scope=room"))
        }
        (scope, None) => scope,
    };
    if principal.role == Role::Admin {
        let room = match listing.room_id {
            Some(room) => Segment::Scope(ScopeKey::Room(room)),
            None => Segment::Kind(CannedScope::Room),
        };
        return Ok(match scope {
            None => vec![
                Segment::Kind(CannedScope::Personal),
                Segment::Kind(CannedScope::Room),
                Segment::Scope(ScopeKey::Global),
            ],
            Some(CannedScope::Personal) => vec![Segment::Kind(CannedScope::Personal)],
            Some(CannedScope::Room) => vec![room],
            Some(CannedScope::Global) => vec![Segment::Scope(ScopeKey::Global)],
        });
    }
    let personal = Segment::Scope(ScopeKey::Personal(principal.user_id.clone()));
    let global = Segment::Scope(ScopeKey::Global);
    if matches!(scope, Some(CannedScope::Personal)) {
        return Ok(vec![personal]);
    }
    if matches!(scope, Some(CannedScope::Global)) {
        return Ok(vec![global]);
    }
    let rooms = match listing.room_id {
        Some(room) if serves_room(store, principal, &room).await? => {
            vec![Segment::Scope(ScopeKey::Room(room))]
        }
        Some(_) => return Err(room_not_served()),
        None => {
            let mut served =
                agents::get(store, &principal.user_id).await?.map(|state| state.rooms).unwrap_or_default();
            served.sort();
            served.dedup();
            if served.is_empty() {
                vec![Segment::Kind(CannedScope::Room)]
            } else {
                served.into_iter().map(|room| Segment::Scope(ScopeKey::Room(room))).collect()
            }
        }
    };
    Ok(match scope {
        Some(_) => rooms,
        None => std::iter::once(personal).chain(rooms).chain([global]).collect(),
    })
}

/// The cursor attribute that says which segment a page stopped in.
const SEGMENT: &str = "segment";

/// The segment and that segment's own cursor a listing cursor continues from.
fn split_cursor(cursor: Option<Cursor>, segments: usize) -> Result<(usize, Option<Cursor>), ApiError> {
    let Some(cursor) = cursor else {
        return Ok((0, None));
    };
    let invalid = || ApiError::bad_request("invalid_cursor", "the cursor is not one this list returned");
    let mut attributes = cursor.attributes().clone();
    let segment = attributes
        .remove(SEGMENT)
        .and_then(|v| v.as_str().and_then(|s| s.parse::<usize>().ok()))
        .filter(|index| *index < segments)
        .ok_or_else(invalid)?;
    Ok((segment, (!attributes.is_empty()).then(|| Cursor::from_attributes(attributes))))
}

fn join_cursor(segment: usize, inner: Option<Cursor>) -> Cursor {
    let mut attributes = inner.map(|c| c.attributes().clone()).unwrap_or_default();
    attributes.insert(SEGMENT.into(), Value::String(segment.to_string()));
    Cursor::from_attributes(attributes)
}

/// One page of the responses the caller may read, most specific first: an agent's personal
/// ones, then those of the rooms they serve, then the global ones; an admin's personal ones
/// (everyone's), room ones, global ones; each by shortcode. A few Queries, never a Scan.
pub async fn list_canned_responses(
    store: &dyn ItemStore,
    principal: &Principal,
    listing: CannedListing,
) -> Result<(Vec<CannedResponse>, Option<Cursor>), ApiError> {
    require_staff(principal)?;
    let segments = segments(store, principal, &listing).await?;
    let (mut index, mut inner) = split_cursor(listing.cursor, segments.len())?;
    let mut items = Vec::new();
    while index < segments.len() && items.len() < listing.limit {
        let wanted = listing.limit - items.len();
        let (page, next) =
            canned::list(store, &segments[index], listing.shortcode.as_ref(), wanted, inner.take()).await?;
        items.extend(page);
        if let Some(next) = next {
            return Ok((items, Some(join_cursor(index, Some(next)))));
        }
        index += 1;
    }
    Ok((items, (index < segments.len()).then(|| join_cursor(index, None))))
}

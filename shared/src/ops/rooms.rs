//! Rooms: the team queues sessions are opened in.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::domain::{now, EventKind, Principal, Role, Room, RoomId, RoomName};
use crate::error::ApiError;
use crate::repo::{events, rooms};
use crate::store::{Cursor, ItemStore};

use super::{failed_conditions, role_forbidden};

/// Longest room description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// The condition of a room's creation that its name is free.
const NAME_FREE: &str = "name_free";

/// Body of `POST /chat/rooms`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    /// Unique name (case-insensitive), 1 to 80 characters.
    pub name: RoomName,
    /// What the room is for, up to 500 characters.
    #[serde(default)]
    pub description: Option<String>,
}

/// An admin creates a room; names are unique regardless of case (409 `room_name_taken`).
pub async fn create_room(
    store: &dyn ItemStore,
    principal: &Principal,
    input: CreateRoom,
) -> Result<Room, ApiError> {
    if principal.role != Role::Admin {
        return Err(role_forbidden("create rooms; only admins do"));
    }
    let description = input.description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    if description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err(ApiError::unprocessable(
            "validation_failed",
            format!("description: must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    let at = now();
    let room = Room {
        id: RoomId::generate(),
        name: input.name.as_str().trim().to_owned(),
        description,
        created_by: principal.user_id.clone(),
        created_at: at,
    };
    let [put_room, reserve_name] = rooms::put_new(&room)?;
    let event = events::record(
        principal,
        EventKind::RoomCreated,
        &rooms::key(&room.id).pk,
        format!("room:{}", room.id),
        None,
        json!({"name": room.name}),
        at,
    )?;
    let ops = vec![put_room.named("room_new"), reserve_name.named(NAME_FREE), event.named("created_event")];
    let failed = failed_conditions(store.transact_write(ops).await)?;
    if failed.contains(&NAME_FREE) {
        return Err(ApiError::conflict("room_name_taken", format!("a room named {:?} exists", room.name)));
    }
    if !failed.is_empty() {
        return Err(ApiError::Internal(format!("room create cancelled at {failed:?}")));
    }
    Ok(room)
}

/// One page of rooms, for every signed-in user (customers choose one when they open a session).
pub async fn list_rooms(
    store: &dyn ItemStore,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Room>, Option<Cursor>), ApiError> {
    rooms::list(store, limit, cursor).await
}

//! Rooms (`ROOM#<id>` / `META`, listed through gsi1 partition `ROOMS`) and the records that keep
//! room names unique (`ROOMNAME#<lower-case name>`).

use crate::domain::{Room, RoomId};
use crate::error::ApiError;
use crate::store::{Condition, Cursor, Item, ItemStore, Key, Query, TxOp, PK, SK};

use super::{records, s, to_item};

/// Key of a room.
pub fn key(id: &RoomId) -> Key {
    Key::new(format!("ROOM#{id}"), "META")
}

/// Key of the record that reserves a room name.
pub fn name_key(name: &str) -> Key {
    Key::new(format!("ROOMNAME#{}", name.trim().to_lowercase()), "META")
}

/// Creates a room and reserves its name; both fail if taken.
pub fn put_new(room: &Room) -> Result<[TxOp; 2], ApiError> {
    let item = to_item(room, &key(&room.id), &[("gsi1pk", "ROOMS".into()), ("gsi1sk", room.id.to_string())])?;
    let name = name_key(&room.name);
    let mut reservation = Item::new();
    reservation.insert(PK.into(), s(&name.pk));
    reservation.insert(SK.into(), s(&name.sk));
    reservation.insert("room_id".into(), s(room.id));
    Ok([
        TxOp::Put { item, condition: Some(Condition::NotExists) },
        TxOp::Put { item: reservation, condition: Some(Condition::NotExists) },
    ])
}

/// Condition check: the room exists.
pub fn exists(id: &RoomId) -> TxOp {
    TxOp::Check { key: key(id), condition: Condition::Exists }
}

/// One page of rooms, oldest first.
pub async fn list(
    store: &dyn ItemStore,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Room>, Option<Cursor>), ApiError> {
    records(store.query(Query::index("gsi1", "ROOMS").limit(limit).cursor(cursor)).await?)
}

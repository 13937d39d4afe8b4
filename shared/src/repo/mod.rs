//! Repositories: the single-table keys of every record (see `docs/DATA_MODEL.md`) and the reads
//! and writes of each, written once on the item store.

pub mod agents;
pub mod attachments;
pub mod blocks;
pub mod canned;
pub mod coalesce;
pub mod comments;
pub mod connections;
pub mod deliveries;
pub mod devices;
pub mod email;
pub mod events;
pub mod facts;
pub mod jobs;
pub mod limits;
pub mod messages;
pub mod notes;
pub mod preferences;
pub mod rollups;
pub mod rooms;
pub mod sessions;
pub mod sites;
pub mod stats;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::store::{Item, ItemStore, Key, Page, Query, RawItem, RawPage, PK, SK};

/// A record as an item: its JSON fields plus the key attributes.
pub(crate) fn to_item<T: Serialize>(
    record: &T,
    key: &Key,
    extra: &[(&str, String)],
) -> Result<Item, ApiError> {
    let Value::Object(mut item) =
        serde_json::to_value(record).map_err(|e| ApiError::Internal(format!("serialising a record: {e}")))?
    else {
        return Err(ApiError::Internal("a record did not serialise to an object".into()));
    };
    item.insert(PK.into(), Value::String(key.pk.clone()));
    item.insert(SK.into(), Value::String(key.sk.clone()));
    for (name, value) in extra {
        item.insert((*name).into(), Value::String(value.clone()));
    }
    Ok(item)
}

/// A record from an item (key attributes are ignored).
pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(item))
        .map_err(|e| ApiError::Internal(format!("a stored record is unreadable: {e}")))
}

/// The records of a page, and its cursor.
pub(crate) fn records<T: DeserializeOwned>(
    page: Page,
) -> Result<(Vec<T>, Option<crate::store::Cursor>), ApiError> {
    let items = page.items.into_iter().map(from_item).collect::<Result<Vec<T>, _>>()?;
    Ok((items, page.next))
}

/// The records of a page of raw items ([`ItemStore::query_many_raw`]), each decoded straight
/// into its type, and its cursor.
pub(crate) fn raw_records<T: DeserializeOwned>(
    page: RawPage,
) -> Result<(Vec<T>, Option<crate::store::Cursor>), ApiError> {
    let items = page
        .items
        .into_iter()
        .map(RawItem::decode)
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| ApiError::Internal(format!("a stored record is unreadable: {e}")))?;
    Ok((items, page.next))
}

/// Every record a query reads, all pages.
pub(crate) async fn all_records<T: DeserializeOwned>(
    store: &dyn ItemStore,
    query: Query,
) -> Result<Vec<T>, ApiError> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = records(store.query(query.clone().cursor(cursor)).await?)?;
        all.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}

/// A string value for a condition or an update.
pub(crate) fn s(value: impl ToString) -> Value {
    Value::String(value.to_string())
}

/// A timestamp value as stored (RFC 3339).
pub(crate) fn ts(at: time::OffsetDateTime) -> Result<Value, ApiError> {
    crate::domain::timestamp::format(at)
        .map(Value::String)
        .map_err(|e| ApiError::Internal(format!("formatting a time: {e}")))
}

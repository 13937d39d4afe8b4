//! Devices registered for push: `USER#<user>` / `DEVICE#<device id>`, indexed on gsi1 by
//! `DEVICE#<device id>` so the owner of a token is one Query (a token that moves to another
//! user is re-owned). The device id is derived from the token (SHA-256, hex), so keys stay short
//! whatever the platform's token looks like.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{from_item, to_item};
use crate::domain::UserId;
use crate::error::ApiError;
use crate::push::{DeviceToken, Platform};
use crate::store::{Condition, ItemStore, Key, KeyRange, Query, TxOp, UpdateAction};

/// A device that receives pushes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Device {
    /// Derived from the token (SHA-256, hex).
    pub device_id: String,
    /// The owner.
    pub user_id: UserId,
    /// Its platform.
    pub platform: Platform,
    /// The platform's endpoint for it (an SNS platform endpoint ARN in AWS).
    pub endpoint_arn: String,
    /// The app's version, as the app reported it.
    #[serde(default)]
    pub app_version: Option<String>,
    /// False once the platform rejected the token; the app registering again enables it.
    pub enabled: bool,
    /// When it was first registered by this owner.
    #[serde(with = "crate::domain::timestamp")]
    pub registered_at: OffsetDateTime,
    /// When it was last registered or changed.
    #[serde(with = "crate::domain::timestamp")]
    pub updated_at: OffsetDateTime,
}

/// The device id of a token.
pub fn device_id(token: &DeviceToken) -> String {
    Sha256::digest(token.as_str().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The key of a user's device.
pub fn key(user: &UserId, device_id: &str) -> Key {
    Key::new(format!("USER#{user}"), format!("DEVICE#{device_id}"))
}

/// The put of a device record (replacing the owner's previous one).
pub fn put(device: &Device) -> Result<TxOp, ApiError> {
    let item = to_item(
        device,
        &key(&device.user_id, &device.device_id),
        &[("gsi1pk", format!("DEVICE#{}", device.device_id)), ("gsi1sk", device.user_id.to_string())],
    )?;
    Ok(TxOp::Put { item, condition: None })
}

/// A user's device.
pub async fn get(store: &dyn ItemStore, user: &UserId, device_id: &str) -> Result<Option<Device>, ApiError> {
    store.get(&key(user, device_id)).await?.map(from_item).transpose()
}

/// Every record of a device id (normally one; two while a token changes hands).
pub async fn by_id(store: &dyn ItemStore, device_id: &str) -> Result<Vec<Device>, ApiError> {
    let page = store.query(Query::index("gsi1", format!("DEVICE#{device_id}")).limit(10)).await?;
    page.items.into_iter().map(from_item).collect()
}

/// A user's devices (at most 100).
pub async fn of_user(store: &dyn ItemStore, user: &UserId) -> Result<Vec<Device>, ApiError> {
    store.query(devices_query(user)).await?.items.into_iter().map(from_item).collect()
}

/// Several users' devices, in their order: one query each, run together
/// ([`ItemStore::query_many`]).
pub async fn of_users(store: &dyn ItemStore, users: &[UserId]) -> Result<Vec<Vec<Device>>, ApiError> {
    let queries = users.iter().map(devices_query).collect();
    let pages = store.query_many(queries).await?;
    pages.into_iter().map(|page| page.items.into_iter().map(from_item).collect()).collect()
}

fn devices_query(user: &UserId) -> Query {
    Query::table(format!("USER#{user}")).range(KeyRange::BeginsWith("DEVICE#".into())).limit(100)
}

/// Marks a device disabled (its endpoint refused a push), unless it was deleted meanwhile.
pub async fn disable(store: &dyn ItemStore, device: &Device) -> Result<(), ApiError> {
    let actions = vec![UpdateAction::Set("enabled".into(), serde_json::Value::Bool(false))];
    match store.update(&key(&device.user_id, &device.device_id), actions, Some(Condition::Exists)).await {
        Ok(_) | Err(crate::store::StoreError::ConditionFailed) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

//! Notification preferences: `USER#<user>` / `PREFS`, one item per user who ever chose.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{from_item, to_item};
use crate::domain::push::Preferences;
use crate::domain::UserId;
use crate::error::ApiError;
use crate::store::{ItemStore, Key};

/// The stored record: the preferences and when they were last set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreferencesRecord {
    /// Whose.
    pub user_id: UserId,
    /// The preferences.
    pub preferences: Preferences,
    /// When they were last set.
    #[serde(with = "crate::domain::timestamp")]
    pub updated_at: OffsetDateTime,
}

/// The key of a user's preferences.
pub fn key(user: &UserId) -> Key {
    Key::new(format!("USER#{user}"), "PREFS")
}

/// A user's preferences, if they ever set any.
pub async fn get(store: &dyn ItemStore, user: &UserId) -> Result<Option<PreferencesRecord>, ApiError> {
    store.get(&key(user)).await?.map(from_item).transpose()
}

/// Several users' preferences, in their order, in batched reads (`BatchGetItem`).
pub async fn get_many(
    store: &dyn ItemStore,
    users: &[UserId],
) -> Result<Vec<Option<PreferencesRecord>>, ApiError> {
    let items = store.get_many(users.iter().map(key).collect()).await?;
    items.into_iter().map(|item| item.map(from_item).transpose()).collect()
}

/// Replaces a user's preferences.
pub async fn put(store: &dyn ItemStore, record: &PreferencesRecord) -> Result<(), ApiError> {
    store.put(to_item(record, &key(&record.user_id), &[])?, None).await?;
    Ok(())
}

//! Notification preferences: each user reads and replaces their own.

use crate::domain::push::Preferences;
use crate::domain::{now, Principal};
use crate::error::ApiError;
use crate::repo::preferences::{self, PreferencesRecord};
use crate::store::ItemStore;

/// The caller's preferences, or the defaults if they never set any. One read.
pub async fn get_preferences(store: &dyn ItemStore, principal: &Principal) -> Result<Preferences, ApiError> {
    Ok(preferences::get(store, &principal.user_id).await?.map(|r| r.preferences).unwrap_or_default())
}

/// Replaces the caller's preferences (fields left out take their defaults); returns them as
/// stored. One write.
pub async fn put_preferences(
    store: &dyn ItemStore,
    principal: &Principal,
    input: Preferences,
) -> Result<Preferences, ApiError> {
    let record = PreferencesRecord {
        user_id: principal.user_id.clone(),
        preferences: input.validated()?,
        updated_at: now(),
    };
    preferences::put(store, &record).await?;
    Ok(record.preferences)
}

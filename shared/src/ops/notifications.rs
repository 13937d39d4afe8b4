//! Notification preferences and devices: each user reads and replaces their own preferences and
//! registers their own devices.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::push::Preferences;
use crate::domain::{now, Principal};
use crate::error::ApiError;
use crate::push::{DeviceToken, Platform, PushError};
use crate::repo::devices::{self, Device};
use crate::repo::preferences::{self, PreferencesRecord};
use crate::store::{ItemStore, TxOp};

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

/// Body of `POST /notifications/devices/register`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterDevice {
    /// The platform's device token.
    pub token: DeviceToken,
    /// `android`, `ios` or `web`.
    pub platform: Platform,
    /// The app's version (at most 64 characters).
    #[serde(default)]
    pub app_version: Option<String>,
}

/// Registers the caller's device for pushes, following AWS's routine for SNS platform
/// endpoints: reuse the endpoint the token already has (whoever owned it: a token that moved to
/// this user is re-owned); create one if there is none or it was deleted; if its token changed
/// or it was disabled, update and re-enable it. Registering again is idempotent.
pub async fn register_device(
    app: &App,
    principal: &Principal,
    input: RegisterDevice,
) -> Result<Device, ApiError> {
    if input.app_version.as_ref().is_some_and(|v| v.is_empty() || v.chars().count() > 64) {
        return Err(ApiError::unprocessable("validation_failed", "app_version: 1 to 64 characters"));
    }
    let store = app.store.as_ref();
    let device_id = devices::device_id(&input.token);
    let records = devices::by_id(store, &device_id).await?;
    let mine = records.iter().find(|d| d.user_id == principal.user_id);
    let known = mine.or(records.first()).filter(|d| d.platform == input.platform);
    let user_data = principal.user_id.to_string();
    let create = || app.push.create_endpoint(input.platform, &input.token, &user_data);
    let mut endpoint_arn = match known {
        Some(device) => device.endpoint_arn.clone(),
        None => create().await.map_err(push_failed)?,
    };
    // The endpoint may have been deleted, disabled (its old token was rejected), or point at
    // another token: recreate, or update and re-enable.
    let state = match app.push.endpoint(&endpoint_arn).await {
        Err(PushError::NotFound) => {
            endpoint_arn = create().await.map_err(push_failed)?;
            app.push.endpoint(&endpoint_arn).await.map_err(push_failed)?
        }
        other => other.map_err(push_failed)?,
    };
    if state.token != input.token.as_str() || !state.enabled {
        app.push.enable_endpoint(&endpoint_arn, &input.token).await.map_err(push_failed)?;
    }
    let at = now();
    let device = Device {
        device_id: device_id.clone(),
        user_id: principal.user_id.clone(),
        platform: input.platform,
        endpoint_arn,
        app_version: input.app_version,
        enabled: true,
        registered_at: mine.map_or(at, |d| d.registered_at),
        updated_at: at,
    };
    let mut ops = vec![devices::put(&device)?.named("device")];
    for other in records.iter().filter(|d| d.user_id != principal.user_id) {
        let moved = TxOp::Delete { key: devices::key(&other.user_id, &other.device_id), condition: None };
        ops.push(moved.named("device_moved"));
    }
    store.transact_write(ops).await?;
    Ok(device)
}

/// Body of `POST /notifications/devices/unregister`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnregisterDevice {
    /// The token the device was registered with.
    pub token: DeviceToken,
}

/// Unregisters one of the caller's devices: deletes its platform endpoint and its record. A token
/// the caller has not registered is 404.
pub async fn unregister_device(
    app: &App,
    principal: &Principal,
    input: UnregisterDevice,
) -> Result<Device, ApiError> {
    let store = app.store.as_ref();
    let device_id = devices::device_id(&input.token);
    let device = devices::get(store, &principal.user_id, &device_id)
        .await?
        .ok_or_else(|| ApiError::not_found("device_not_found", "you have no device with this token"))?;
    app.push.delete_endpoint(&device.endpoint_arn).await.map_err(push_failed)?;
    store.delete(&devices::key(&principal.user_id, &device_id), None).await?;
    Ok(device)
}

/// A push service failure: a refused token is the client's (422), the rest the server's.
fn push_failed(error: PushError) -> ApiError {
    match error {
        PushError::Invalid(reason) => {
            ApiError::unprocessable("invalid_token", format!("the push service refused the token: {reason}"))
        }
        other => ApiError::Internal(other.to_string()),
    }
}

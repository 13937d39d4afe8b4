//! Notification REST handlers: each user's devices (SNS platform endpoints) and preferences
//! (categories, quiet hours in their own time zone, muted sessions).

use lambda_http::Request;
use switchboard_shared::domain::push::Preferences;
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{json, json_body, principal, HandlerResult};
use switchboard_shared::ops::{RegisterDevice, UnregisterDevice};
use switchboard_shared::repo::devices::Device;
use switchboard_shared::{http_function, ops, App};

http_function!(
    /// `GET /notifications/preferences`
    GET_PREFERENCES = "notifications-get-preferences" => get_preferences
);
http_function!(
    /// `PUT /notifications/preferences`
    PUT_PREFERENCES = "notifications-put-preferences" => put_preferences
);

http_function!(
    /// `POST /notifications/devices/register`
    REGISTER_DEVICE = "notifications-register-device" => register_device
);
http_function!(
    /// `POST /notifications/devices/unregister`
    UNREGISTER_DEVICE = "notifications-unregister-device" => unregister_device
);

/// Every function of this crate.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] =
    &[GET_PREFERENCES, PUT_PREFERENCES, REGISTER_DEVICE, UNREGISTER_DEVICE];

/// The caller's notification preferences (the defaults — everything on, no quiet hours, nothing
/// muted — until they set any).
#[utoipa::path(get, path = "/notifications/preferences", tag = "notifications",
    responses((status = 200, body = Preferences)))]
pub async fn get_preferences(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    json(200, &ops::get_preferences(app.store.as_ref(), &principal).await?)
}

/// Replaces the caller's notification preferences; fields left out take their defaults.
#[utoipa::path(put, path = "/notifications/preferences", tag = "notifications", request_body = Preferences,
    responses((status = 200, body = Preferences), (status = 400, body = ErrorBody),
        (status = 422, description = "unknown field, bad time, unknown time zone, too many muted sessions", body = ErrorBody)))]
pub async fn put_preferences(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let input: Preferences = json_body(&req)?;
    json(200, &ops::put_preferences(app.store.as_ref(), &principal, input).await?)
}

/// Registers the caller's device for pushes (creating, reusing or re-enabling its platform
/// endpoint); registering the same token again is idempotent, and a token that moved from
/// another user becomes the caller's.
#[utoipa::path(post, path = "/notifications/devices/register", tag = "notifications", request_body = RegisterDevice,
    responses((status = 200, body = Device), (status = 400, body = ErrorBody),
        (status = 422, description = "empty or oversized token, unknown platform, the push service refused the token", body = ErrorBody)))]
pub async fn register_device(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let input: RegisterDevice = json_body(&req)?;
    json(200, &ops::register_device(app, &principal, input).await?)
}

/// Unregisters one of the caller's devices: its platform endpoint is deleted; answers the
/// device as it was.
#[utoipa::path(post, path = "/notifications/devices/unregister", tag = "notifications", request_body = UnregisterDevice,
    responses((status = 200, body = Device), (status = 404, description = "no device of yours has this token", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn unregister_device(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let input: UnregisterDevice = json_body(&req)?;
    json(200, &ops::unregister_device(app, &principal, input).await?)
}

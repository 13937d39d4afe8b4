//! Notification REST handlers: each user's preferences (categories, quiet hours in their own time
//! zone, muted sessions).

use lambda_http::Request;
use switchboard_shared::domain::push::Preferences;
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{json, json_body, principal, HandlerResult};
use switchboard_shared::{http_function, ops, App};

http_function!(
    /// `GET /notifications/preferences`
    GET_PREFERENCES = "notifications-get-preferences" => get_preferences
);
http_function!(
    /// `PUT /notifications/preferences`
    PUT_PREFERENCES = "notifications-put-preferences" => put_preferences
);

/// Every function of this crate.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[GET_PREFERENCES, PUT_PREFERENCES];

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

//! Replies by e-mail (`ops::email`): the minute's sweep that sends the e-mails due, and the
//! unsubscribe link every e-mail carries: a page that asks (`GET`: mail scanners follow links, so
//! a GET changes nothing) and the one-click POST of RFC 8058 that switches e-mail off, neither
//! behind the authorizer (the link's signature is the credential).

use lambda_http::{Body, Request, Response};
use switchboard_shared::domain::now;
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{query_param, HandlerResult};
use switchboard_shared::lambda::ScheduledEvent;
use switchboard_shared::ops::email;
use switchboard_shared::{http_function, scheduled_function, ApiError, App};

pub mod inbound;

http_function!(
    /// `GET /email/unsubscribe?user=&sig=`
    UNSUBSCRIBE_PAGE = "email-unsubscribe-page" => unsubscribe_page
);
http_function!(
    /// `POST /email/unsubscribe?user=&sig=`
    UNSUBSCRIBE = "email-unsubscribe" => unsubscribe
);
scheduled_function!(
    /// EventBridge `rate(1 minute)`
    EMAIL_SWEEP = "email-sweep" => email_sweep
);

/// Every HTTP function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[UNSUBSCRIBE_PAGE, UNSUBSCRIBE];
/// Every scheduled function of this crate.
pub const SCHEDULED: &[switchboard_shared::lambda::ScheduledFunction] = &[EMAIL_SWEEP];

/// The sweep: sends the e-mails due at the time the schedule fired.
pub async fn email_sweep(app: &App, event: ScheduledEvent) -> Result<serde_json::Value, ApiError> {
    let report = email::sweep(app, event.time).await?;
    serde_json::to_value(report).map_err(|e| ApiError::Internal(format!("writing the sweep's account: {e}")))
}

/// The link's `user` and `sig`: 400 `invalid_link` when one is missing.
fn link(req: &Request) -> Result<(String, String), ApiError> {
    match (query_param(req, "user"), query_param(req, "sig")) {
        (Some(user), Some(sig)) => Ok((user, sig)),
        _ => Err(ApiError::bad_request("invalid_link", "the link lacks its user or its signature")),
    }
}

/// An HTML page.
fn page(title: &str, body: &str) -> HandlerResult {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width\"><title>{title}</title></head><body>{body}</body></html>"
    );
    Response::builder()
        .status(200)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .body(Body::Text(html))
        .map_err(|e| ApiError::Internal(format!("building response: {e}")))
}

/// Asks whether to stop the e-mails about replies, with a button that posts the same link (the
/// link every such e-mail carries; no token).
#[utoipa::path(get, path = "/email/unsubscribe", tag = "email", security(()),
    params(("user" = String, Query, description = "the recipient's user id"),
        ("sig" = String, Query, description = "the link's signature")),
    responses((status = 200, description = "the page (text/html)", content_type = "text/html", body = String),
        (status = 400, description = "invalid_link: the user or signature is missing", body = ErrorBody),
        (status = 403, description = "invalid_link: not a link we sent", body = ErrorBody)))]
pub async fn unsubscribe_page(app: &App, req: Request) -> HandlerResult {
    let (user, sig) = link(&req)?;
    email::check_link(app.store.as_ref(), &user, &sig).await?;
    let action = email::escape(&format!("?{}", req.uri().query().unwrap_or_default()));
    page(
        "Stop e-mails",
        &format!(
            "<h1>Stop e-mails about your conversations?</h1><form method=\"post\" action=\"{action}\">\
             <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
             <button type=\"submit\">Stop e-mails</button></form>"
        ),
    )
}

/// Switches the recipient's e-mail off (their `email` preference): the one-click POST of RFC 8058
/// (`List-Unsubscribe=One-Click`), or the page's button. No token: the link's signature is the
/// credential.
#[utoipa::path(post, path = "/email/unsubscribe", tag = "email", security(()),
    params(("user" = String, Query, description = "the recipient's user id"),
        ("sig" = String, Query, description = "the link's signature")),
    responses((status = 200, description = "done (text/html)", content_type = "text/html", body = String),
        (status = 400, description = "invalid_link: the user or signature is missing", body = ErrorBody),
        (status = 403, description = "invalid_link: not a link we sent", body = ErrorBody)))]
pub async fn unsubscribe(app: &App, req: Request) -> HandlerResult {
    let (user, sig) = link(&req)?;
    email::unsubscribe(app, &user, &sig, now()).await?;
    page(
        "E-mails stopped",
        "<h1>You will get no more e-mails about your conversations.</h1>\
         <p>Replies still reach you in the chat.</p>",
    )
}

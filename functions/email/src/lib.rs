//! Replies by e-mail (`ops::email`): the minute's sweep that sends the e-mails due; the
//! unsubscribe link every e-mail carries: a page that asks (`GET`: mail scanners follow links, so
//! a GET changes nothing) and the one-click POST of RFC 8058 that switches e-mail off, neither
//! behind the authorizer (the link's signature is the credential); the mail service's reports on
//! the e-mails (delivered, bounced, complained of), and the console's list of a session's e-mails.

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use switchboard_shared::domain::{now, SessionId};
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{json, page_request, path_param, principal, query_param, HandlerResult};
use switchboard_shared::lambda::ScheduledEvent;
use switchboard_shared::mail::reports::{parse_ses, NotAReport};
use switchboard_shared::ops::email;
use switchboard_shared::{http_function, queue_function, scheduled_function, ApiError, App};

pub mod inbound;

http_function!(
    /// `GET /email/unsubscribe?user=&sig=`
    UNSUBSCRIBE_PAGE = "email-unsubscribe-page" => unsubscribe_page
);
http_function!(
    /// `POST /email/unsubscribe?user=&sig=`
    UNSUBSCRIBE = "email-unsubscribe" => unsubscribe
);
http_function!(
    /// `GET /chat/sessions/{id}/emails`
    LIST_SESSION_EMAILS = "email-list-session-emails" => list_session_emails
);
scheduled_function!(
    /// EventBridge `rate(1 minute)`
    EMAIL_SWEEP = "email-sweep" => email_sweep
);
queue_function!(
    /// The SNS topic of SES's reports on the e-mails (the configuration set's event destination)
    EMAIL_EVENTS = "email-events" => email_events
);

/// Every HTTP function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] =
    &[UNSUBSCRIBE_PAGE, UNSUBSCRIBE, LIST_SESSION_EMAILS];
/// Every scheduled function of this crate.
pub const SCHEDULED: &[switchboard_shared::lambda::ScheduledFunction] = &[EMAIL_SWEEP];

/// The sweep: sends the e-mails due at the time the schedule fired.
pub async fn email_sweep(app: &App, event: ScheduledEvent) -> Result<serde_json::Value, ApiError> {
    let report = email::sweep(app, event.time).await?;
    serde_json::to_value(report).map_err(|e| ApiError::Internal(format!("writing the sweep's account: {e}")))
}

/// Records SES's reports (each SNS record's `Message`): delivered, bounced, complained of. A
/// message that is not a report on one of our e-mails is logged and passed; a failure to record
/// one fails the invocation, and Lambda delivers the notification again (recording is
/// idempotent).
pub async fn email_events(app: &App, event: Value) -> Result<Value, ApiError> {
    let records = event["Records"]
        .as_array()
        .ok_or_else(|| ApiError::bad_request("invalid_event", "not an SNS event: no Records"))?;
    let (mut recorded, mut passed) = (0u64, 0u64);
    for record in records {
        let Some(message) = record["Sns"]["Message"].as_str() else {
            tracing::warn!("an SNS record without a Message");
            passed += 1;
            continue;
        };
        match parse_ses(message, now()) {
            Ok(report) => {
                let outcome = email::record_report(app, &report).await?;
                tracing::info!(session_id = %report.session_id, ?outcome, "a report on an e-mail");
                recorded += 1;
            }
            Err(NotAReport::Malformed(reason)) => {
                tracing::warn!(%reason, "an SNS message that is not an SES event");
                passed += 1;
            }
            Err(other) => {
                tracing::info!(reason = %other, "an SES event passed");
                passed += 1;
            }
        }
    }
    Ok(json!({ "recorded": recorded, "passed": passed }))
}

/// The e-mails sent to the session's customer about replies they had not read, oldest first, with
/// what became of each (sent, delivered, bounced, complained of; opening is not tracked), and
/// whether their address still takes e-mail: admins, the session's agent and agents who handled
/// it before; customers and other agents get 403.
#[utoipa::path(get, path = "/chat/sessions/{id}/emails", tag = "email",
    params(("id" = SessionId, Path), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = email::SessionEmails),
        (status = 400, description = "invalid_cursor, invalid_limit", body = ErrorBody),
        (status = 403, description = "a customer, or an agent who never handled the session (session_not_handled)", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list_session_emails(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "id")?;
    let page = page_request(&req)?;
    json(200, &email::session_emails(app.store.as_ref(), &principal, &id, page.limit, page.cursor).await?)
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

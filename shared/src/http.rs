//! HTTP glue for handlers: who is calling, typed bodies and parameters, pages, JSON responses.

use std::str::FromStr;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{InvalidValue, Principal, Role, UserId};
use crate::error::{ApiError, STORE_RETRY_AFTER_SECONDS};
use crate::store::Cursor;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Page size when `?limit=` is absent.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest `?limit=`.
pub const MAX_PAGE_SIZE: usize = 200;

/// What a handler returns: a response, or a failure `dispatch` turns into the JSON error body.
pub type HandlerResult = Result<Response<Body>, ApiError>;

/// A response body written chunk by chunk, for downloads too large to hold in memory. A failure
/// after the first chunk cannot change the status any more: it cuts the body off.
pub type Chunks = futures::stream::BoxStream<'static, Result<bytes::Bytes, ApiError>>;

/// What a streaming handler returns: the status and headers with the body's chunks, or a failure
/// (before anything was sent) that becomes the JSON error body.
pub type StreamingResult = Result<Response<Chunks>, ApiError>;

/// The caller, from the authorizer's context in the request (`userId`, `role`, `name`).
/// Handlers trust only this, never a user id in the body.
pub fn principal(req: &Request) -> Result<Principal, ApiError> {
    let fields = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => &ctx.authorizer.fields,
        Some(RequestContext::WebSocket(ctx)) => &ctx.authorizer.fields,
        _ => return Err(ApiError::Unauthorized("the request carries no authorizer context".into())),
    };
    let field = |name: &str| fields.get(name).and_then(|v| v.as_str());
    let unauthorized = || ApiError::Unauthorized("the authorizer context is incomplete".into());
    let user_id = UserId::parse(field("userId").ok_or_else(unauthorized)?).map_err(|_| unauthorized())?;
    let role = Role::parse(field("role").ok_or_else(unauthorized)?).map_err(|_| unauthorized())?;
    let name = field("name").filter(|n| !n.is_empty()).map(str::to_owned);
    Ok(Principal { user_id, role, name })
}

/// The API Gateway request id, for logs and error bodies.
pub fn request_id(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.request_id.clone(),
        Some(RequestContext::WebSocket(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
}

fn body_bytes(req: &Request) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    Ok(bytes)
}

/// The JSON body as `T`: malformed JSON is 400, JSON of the wrong shape or with unacceptable
/// values is 422, more than [`MAX_BODY_BYTES`] is 413.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(req)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("missing_body", "this request needs a JSON body"));
    }
    parse_json(bytes)
}

/// Like [`json_body`], but an empty body reads as `{}`.
pub fn json_body_or_empty<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(req)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return parse_json(b"{}");
    }
    parse_json(bytes)
}

/// Syntax first (400), then shape (422): a body must be a JSON object, and its fields must
/// fit `T`. Deserialising straight into `T` would mix the two up and read an array as a struct.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::unprocessable("validation_failed", "the body must be a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| ApiError::unprocessable("validation_failed", e.to_string()))
}

/// A path parameter parsed as `T`; a malformed one is 400 `invalid_id`.
pub fn path_param<T: FromStr<Err = InvalidValue>>(req: &Request, name: &str) -> Result<T, ApiError> {
    let params = req.path_parameters_ref();
    let raw = params
        .and_then(|p| p.first(name))
        .ok_or_else(|| ApiError::bad_request("invalid_id", format!("path parameter {name} is missing")))?;
    raw.parse::<T>().map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))
}

/// A query-string parameter, if present and not empty.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref().and_then(|q| q.first(name)).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// `?limit=` and `?cursor=` of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Items wanted (1..=[`MAX_PAGE_SIZE`]).
    pub limit: usize,
    /// Where the previous page stopped.
    pub cursor: Option<Cursor>,
}

/// Reads `?limit=` (default 50, at most 200) and `?cursor=`; bad values are 400.
pub fn page_request(req: &Request) -> Result<PageRequest, ApiError> {
    let limit = match query_param(req, "limit") {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => {
            raw.parse::<usize>().ok().filter(|n| (1..=MAX_PAGE_SIZE).contains(n)).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_limit",
                    format!("limit must be a whole number from 1 to {MAX_PAGE_SIZE}"),
                )
            })?
        }
    };
    let cursor = query_param(req, "cursor").map(|raw| Cursor::decode(&raw)).transpose()?;
    Ok(PageRequest { limit, cursor })
}

/// A page of a list, as every list endpoint returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListPage<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `?cursor=` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> ListPage<T> {
    /// A page from items and the store's cursor.
    pub fn new(items: Vec<T>, next: Option<Cursor>) -> Self {
        Self { items, next_cursor: next.map(|c| c.encode()) }
    }
}

/// A JSON response with a status.
pub fn json<T: Serialize>(status: u16, value: &T) -> HandlerResult {
    let body =
        serde_json::to_string(value).map_err(|e| ApiError::Internal(format!("serialising response: {e}")))?;
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body))
        .map_err(|e| ApiError::Internal(format!("building response: {e}")))
}

/// An empty `204 No Content` response.
pub fn no_content() -> HandlerResult {
    Response::builder()
        .status(204)
        .body(Body::Empty)
        .map_err(|e| ApiError::Internal(format!("building response: {e}")))
}

/// The response for a failure, with the request id; server errors are logged in full here.
pub fn error_response(error: &ApiError, request_id: Option<&str>) -> Response<Body> {
    if let ApiError::Internal(detail) = error {
        tracing::error!(error = %detail, "request failed");
    } else if let ApiError::StoreUnavailable(detail) | ApiError::QueueUnavailable(detail) = error {
        tracing::warn!(error = %detail, code = error.code(), "a backing service is unavailable");
    } else {
        tracing::info!(status = error.status().as_u16(), code = error.code(), "request refused");
    }
    let body = serde_json::to_string(&error.body(request_id))
        .unwrap_or_else(|_| r#"{"error":{"code":"internal","message":"the server failed"}}"#.to_owned());
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = error.status();
    response.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
    if matches!(error, ApiError::StoreUnavailable(_) | ApiError::QueueUnavailable(_)) {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(STORE_RETRY_AFTER_SECONDS));
    }
    response
}

//! CORS for the chat widget, whose pages call the API from their own origins: the headers that
//! let such a page read an answer, given only to origins a site allows (checked in
//! `ops::widget`).

use lambda_http::{Body, Request, RequestExt, Response};

use crate::error::ApiError;
use crate::http::{error_response, request_id, HandlerResult};

/// The `Origin` header of a request, when it has exactly one.
pub fn origin(req: &Request) -> Option<&str> {
    let mut values = req.headers().get_all(http::header::ORIGIN).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().ok(),
        _ => None,
    }
}

/// The client's IP address as API Gateway saw it.
pub fn source_ip(req: &Request) -> String {
    match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.clone(),
        _ => None,
    }
    .unwrap_or_else(|| "unknown".to_owned())
}

/// Lets a page of `origin` read this response.
pub fn allow_origin(response: &mut Response<Body>, origin: &str) {
    let headers = response.headers_mut();
    if let Ok(value) = http::HeaderValue::from_str(origin) {
        headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.insert(http::header::VARY, http::HeaderValue::from_static("Origin"));
    headers
        .insert(http::header::ACCESS_CONTROL_EXPOSE_HEADERS, http::HeaderValue::from_static("Retry-After"));
}

/// A handler's outcome as its response for a page of `origin` (which the handler found allowed):
/// errors too carry the CORS headers, so the widget can read their codes.
pub fn respond_to(req: &Request, origin: &str, outcome: HandlerResult) -> HandlerResult {
    let mut response = match outcome {
        Ok(response) => response,
        Err(error @ (ApiError::Internal(_) | ApiError::StoreUnavailable(_))) => return Err(error),
        Err(error) => error_response(&error, request_id(req).as_deref()),
    };
    allow_origin(&mut response, origin);
    Ok(response)
}

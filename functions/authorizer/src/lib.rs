//! The authorizer: verifies the caller's JWT (REST: `Authorization: Bearer`; WebSocket
//! `$connect`: `?token=`) and hands `{userId, role, name}` to the handlers as context.

pub mod keys;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use switchboard_shared::auth::{bearer_token, TokenVerifier};
use switchboard_shared::domain::Principal;

use crate::keys::Authorizer;

/// Binary and function name.
pub const FUNCTION_NAME: &str = "authorizer-verify-token";

/// The only error message API Gateway turns into a 401 (anything else becomes a 500).
pub const UNAUTHORIZED: &str = "Unauthorized";

/// The authorizer's answer: an IAM policy and the context handlers read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    /// The user id.
    pub principal_id: String,
    /// Allows invoking the API.
    pub policy_document: PolicyDocument,
    /// `userId`, `role` and `name`, as `requestContext.authorizer.*`.
    pub context: AuthorizerContext,
}

/// An IAM policy document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    /// Policy language version.
    pub version: &'static str,
    /// The one statement.
    pub statement: Vec<PolicyStatement>,
}

/// One IAM statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyStatement {
    /// `execute-api:Invoke`.
    pub action: &'static str,
    /// `Allow`.
    pub effect: &'static str,
    /// The API's methods.
    pub resource: String,
}

/// What handlers learn about the caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerContext {
    /// The `sub` claim.
    pub user_id: String,
    /// `customer`, `agent` or `admin`.
    pub role: String,
    /// Display name, empty when the token has none (context values cannot be null).
    pub name: String,
}

/// Why a request was refused (logged; the client only sees 401).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No token where one was expected.
    #[error("no token in the request")]
    NoToken,
    /// The token did not verify.
    #[error(transparent)]
    Invalid(#[from] switchboard_shared::auth::AuthError),
}

/// Whether the event authorizes a WebSocket `$connect` (browsers cannot set headers there).
fn is_websocket_connect(event: &Value) -> bool {
    let context = event.get("requestContext");
    context.and_then(|c| c.get("routeKey")).and_then(Value::as_str) == Some("$connect")
        || context.and_then(|c| c.get("eventType")).and_then(Value::as_str) == Some("CONNECT")
}

/// The token of an authorizer event: the `Authorization: Bearer` header (any case); for a
/// WebSocket `$connect` only, `?token=`. REST never takes a token from the URL, where it would
/// end up in access logs and browser history.
pub fn token_of(event: &Value) -> Option<&str> {
    let header = event.get("headers").and_then(Value::as_object).and_then(|headers| {
        headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.as_str())
    });
    if let Some(value) = header {
        return bearer_token(value);
    }
    if !is_websocket_connect(event) {
        return None;
    }
    event
        .get("queryStringParameters")
        .and_then(|q| q.get("token"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
}

/// The resource the policy allows: every method of the stage, so a cached answer also serves
/// the caller's other requests (the cache is keyed by token, so it never serves another user).
fn stage_wildcard(method_arn: &str) -> String {
    let mut parts = method_arn.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(api), Some(stage)) => format!("{api}/{stage}/*"),
        _ => method_arn.to_owned(),
    }
}

/// Verifies the token and builds the policy; the same code serves Lambda and the local gateway.
pub fn authorize(verifier: &TokenVerifier, event: &Value) -> Result<AuthorizerResponse, Refusal> {
    let token = token_of(event).ok_or(Refusal::NoToken)?;
    Ok(response(verifier.verify(token)?, event))
}

/// The policy and context for a verified caller.
fn response(Principal { user_id, role, name }: Principal, event: &Value) -> AuthorizerResponse {
    let method_arn = event.get("methodArn").and_then(Value::as_str).unwrap_or("*");
    AuthorizerResponse {
        principal_id: user_id.to_string(),
        policy_document: PolicyDocument {
            version: "2012-10-17",
            statement: vec![PolicyStatement {
                action: "execute-api:Invoke",
                effect: "Allow",
                resource: stage_wildcard(method_arn),
            }],
        },
        context: AuthorizerContext {
            user_id: user_id.to_string(),
            role: role.as_str().to_owned(),
            name: name.unwrap_or_default(),
        },
    }
}

/// The Lambda handler: verifies as [`authorize`] does, fetching a rotated key set when a token
/// names a new `kid`; a refusal becomes the `Unauthorized` error API Gateway maps to 401.
pub async fn handle(
    authorizer: &Authorizer,
    event: LambdaEvent<Value>,
) -> Result<AuthorizerResponse, Diagnostic> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let verified = match token_of(&event.payload) {
        Some(token) => authorizer.verify(token, now).await.map_err(Refusal::from),
        None => Err(Refusal::NoToken),
    };
    verified.map(|principal| response(principal, &event.payload)).map_err(|refusal| {
        tracing::info!(reason = %refusal, request_id = %event.context.request_id, "token refused");
        Diagnostic { error_type: UNAUTHORIZED.to_owned(), error_message: UNAUTHORIZED.to_owned() }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_query_string_token_counts_only_for_a_websocket_connect() {
        let rest =
            json!({"type": "REQUEST", "queryStringParameters": {"token": "abc"}, "requestContext": {}});
        let connect = json!({"type": "REQUEST", "queryStringParameters": {"token": "abc"},
            "requestContext": {"routeKey": "$connect", "eventType": "CONNECT"}});
        assert_eq!(token_of(&rest), None);
        assert_eq!(token_of(&connect), Some("abc"));
    }

    #[test]
    fn the_policy_covers_every_method_of_the_stage() {
        assert_eq!(
            stage_wildcard("arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/api/v1/chat/rooms"),
            "arn:aws:execute-api:us-east-1:123456789012:abc/prod/*"
        );
    }
}

//! What only the local gateway serves besides the API: the built web dashboard (`dashboard/dist`)
//! at `/`, and the dashboard's development sign-in, `POST /local/dev-token`, which mints a token
//! with the gateway's own development secret. Neither is in the template: in AWS the dashboard
//! comes from S3 behind CloudFront and tokens from the identity provider.

use std::path::{Component, Path, PathBuf};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use switchboard_shared::auth::TokenMinter;
use switchboard_shared::domain::{Role, UserId};

use crate::gateway::gateway_error;

/// The path of the development sign-in.
pub const DEV_TOKEN_PATH: &str = "/local/dev-token";

/// How long a development sign-in lasts: a working day.
const DEV_TOKEN_TTL_SECONDS: u64 = 12 * 3600;

/// The body of `POST /local/dev-token`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DevTokenRequest {
    sub: String,
    role: String,
    name: Option<String>,
}

/// Mints a token for the user the body names: `{"token": "..."}`, or a 400 for a body that is
/// not `{sub, role, name?}` with a valid user id and role.
pub fn dev_token(minter: &TokenMinter, body: &[u8]) -> Response {
    let bad = |message: &str| gateway_error(StatusCode::BAD_REQUEST, "invalid_request", message);
    let Ok(request) = serde_json::from_slice::<DevTokenRequest>(body) else {
        return bad("the body must be {\"sub\", \"role\", \"name\"}");
    };
    if let Err(error) = UserId::parse(&request.sub) {
        return bad(&format!("sub: {error}"));
    }
    let role = match Role::parse(&request.role) {
        Ok(role) => role,
        Err(error) => return bad(&format!("role: {error}")),
    };
    let name = request.name.as_deref().map(str::trim).filter(|name| !name.is_empty());
    if name.is_some_and(|name| name.chars().count() > 100) {
        return bad("name: at most 100 characters");
    }
    match minter.mint(&request.sub, role, name, DEV_TOKEN_TTL_SECONDS) {
        Ok(token) => (
            [("content-type", "application/json"), ("cache-control", "no-store")],
            json!({"token": token, "expires_in": DEV_TOKEN_TTL_SECONDS}).to_string(),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "minting a development token failed");
            gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the gateway failed")
        }
    }
}

/// The command that builds the dashboard into `dir` (`dashboard/dist` by default: its project is
/// the folder above).
pub fn build_command(dir: &Path) -> String {
    let project = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.display().to_string(),
        _ => ".".to_owned(),
    };
    format!("(cd {project} && npm ci && npm run build)")
}

/// Whether `dir` holds a built dashboard.
pub fn is_built(dir: &Path) -> bool {
    dir.join("index.html").is_file()
}

/// The page every page path gets while the dashboard is not built (a fresh clone): the exact
/// command that builds it, instead of an API 404 that leaves a new user guessing. 503: it is
/// there once built, without a restart.
fn not_built_page(dir: &Path) -> Response {
    let command = build_command(dir);
    let escaped = command.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><meta charset=\"utf-8\"><title>Switchboard: build the dashboard</title>\n\
         <body style=\"font-family: sans-serif; max-width: 40em; margin: 3em auto\">\n\
         <h1>The web dashboard is not built yet</h1>\n\
         <p>The API runs (<a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>). To get the dashboard, \
         build it once with Node.js 20 or later, from the project's folder:</p>\n\
         <pre>{escaped}</pre>\n<p>then reload this page; the gateway need not restart.</p>\n</body></html>\n"
    );
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [("content-type", "text/html; charset=utf-8"), ("cache-control", "no-store")],
        page,
    )
        .into_response()
}

/// The dashboard's files for a `GET` of `path`: the file itself when there is one, otherwise
/// `index.html` for a page path (the app routes on the client), or, before the dashboard is
/// built, the page that says how to build it. `None` for a path that leaves the folder, or a
/// missing file.
pub async fn app_file(dir: &Path, path: &str) -> Option<Response> {
    let relative = PathBuf::from(path.trim_start_matches('/'));
    if relative.components().any(|part| !matches!(part, Component::Normal(_))) {
        return None;
    }
    let candidate = dir.join(&relative);
    let (file, bytes) = match tokio::fs::read(&candidate).await {
        Ok(bytes) if !relative.as_os_str().is_empty() => (candidate, bytes),
        // A missing file (a stale bundle name) is a 404, not the page.
        Err(_) if relative.extension().is_some() => return None,
        _ => {
            let index = dir.join("index.html");
            match tokio::fs::read(&index).await {
                Ok(bytes) => (index, bytes),
                Err(_) => return Some(not_built_page(dir)),
            }
        }
    };
    let extension = file.extension().and_then(|e| e.to_str()).unwrap_or_default();
    // Vite names its bundles by content hash: they never change, so browsers may keep them.
    let cache =
        if file.starts_with(dir.join("assets")) { "public, max-age=31536000, immutable" } else { "no-cache" };
    Some(([("content-type", content_type(extension)), ("cache-control", cache)], bytes).into_response())
}

/// The content type of the file kinds a Vite build writes.
fn content_type(extension: &str) -> &'static str {
    match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

//! What only the local gateway serves besides the API: the built web dashboard (`dashboard/dist`)
//! at `/`, and the dashboard's development sign-in, `POST /local/dev-token`, which mints a token
//! with the gateway's own development secret. Neither is in the template: in AWS the dashboard
//! comes from S3 behind CloudFront and tokens from the identity provider.
//!
//! The sign-in mints admin tokens for anyone who asks, so it answers only what a page on the
//! developer's own machine sends: a loopback `Host` (a DNS-rebinding page names its own host),
//! a loopback `Origin` when there is one, and an `application/json` body (which a cross-site
//! form or a "simple" cross-origin request cannot send without a preflight the gateway never
//! grants).

use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};

use axum::http::{header, HeaderMap, StatusCode};
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

/// Whether `serve` offers the development sign-in: only on a loopback address with the
/// generated secret, unless `--dev-sign-in` asks for it. On another address anyone on the
/// network could mint tokens; with `JWT_SECRET` they would be valid wherever that secret is.
pub fn dev_sign_in_enabled(host: IpAddr, jwt_secret_set: bool, forced: bool) -> bool {
    forced || (host.is_loopback() && !jwt_secret_set)
}

/// Whether a `Host` header (or the authority of an `Origin`) names this machine's loopback:
/// `localhost`, `127.0.0.1` (any `127.x.y.z`) or `[::1]`, with any port.
fn is_loopback_authority(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(host, _port)| host),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Why a request may not use the development sign-in, if it may not.
fn refusal(headers: &HeaderMap) -> Option<Response> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if !text(header::HOST).is_some_and(is_loopback_authority) {
        return Some(gateway_error(
            StatusCode::FORBIDDEN,
            "forbidden_host",
            "the development sign-in answers only requests to localhost, 127.0.0.1 or [::1]",
        ));
    }
    let foreign_origin = text(header::ORIGIN).is_some_and(|origin| {
        let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
        !authority.is_some_and(is_loopback_authority)
    });
    if foreign_origin || headers.get_all(header::ORIGIN).iter().count() > 1 {
        return Some(gateway_error(
            StatusCode::FORBIDDEN,
            "forbidden_origin",
            "the development sign-in answers only pages served from this machine",
        ));
    }
    let json = text(header::CONTENT_TYPE).is_some_and(|value| {
        value.split(';').next().is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return Some(gateway_error(
            StatusCode::BAD_REQUEST,
            "unsupported_content_type",
            "the body must be sent as application/json",
        ));
    }
    None
}

/// Mints a token for the user the body names: `{"token": "..."}`; a 403 for a request that does
/// not come from this machine, a 400 for a body that is not JSON `{sub, role, name?}` with a
/// valid user id and role.
pub fn dev_token(minter: &TokenMinter, headers: &HeaderMap, body: &[u8]) -> Response {
    if let Some(refused) = refusal(headers) {
        return refused;
    }
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
pub(crate) fn content_type(extension: &str) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_is_off_on_a_network_address_or_with_a_configured_secret_unless_asked_for() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let everywhere: IpAddr = "0.0.0.0".parse().unwrap();
        let lan: IpAddr = "192.168.1.20".parse().unwrap();
        assert!(dev_sign_in_enabled(loopback, false, false));
        assert!(dev_sign_in_enabled("::1".parse().unwrap(), false, false));
        assert!(!dev_sign_in_enabled(everywhere, false, false));
        assert!(!dev_sign_in_enabled(lan, false, false));
        assert!(!dev_sign_in_enabled(loopback, true, false));
        assert!(dev_sign_in_enabled(everywhere, true, true));
    }

    #[test]
    fn only_loopback_hosts_count_as_this_machine() {
        for host in ["localhost", "localhost:3000", "127.0.0.1:8080", "127.1.2.3", "[::1]:3000", "LOCALHOST"]
        {
            assert!(is_loopback_authority(host), "{host}");
        }
        for host in
            ["evil.example", "evil.example:3000", "localhost.evil.example", "10.0.0.1:3000", "[::2]:80", ""]
        {
            assert!(!is_loopback_authority(host), "{host}");
        }
    }
}

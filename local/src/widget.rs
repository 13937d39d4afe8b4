//! What the local gateway does for the chat widget besides its API: serves the built widget
//! (`widget/dist`: the loader, its lazily loaded chunks and the demo page) at `/widget/`, signs
//! the widget's customer tokens with a development secret, and keeps a demo site so the demo
//! page works out of the box. In AWS the widget comes from the dashboard's bucket behind
//! CloudFront, and its token secret from SSM.

use std::path::{Component, Path, PathBuf};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use switchboard_shared::auth::WidgetTokens;
use switchboard_shared::config::TokenSettings;
use switchboard_shared::domain::widget::{IdentitySecrets, Site, SiteInput};
use switchboard_shared::domain::{now, SiteId};
use switchboard_shared::repo::sites::{self, SiteRecord};
use switchboard_shared::store::{ItemStore, StoreError};

use crate::gateway::gateway_error;

/// Where the widget is served.
pub const WIDGET_PATH: &str = "/widget/";

/// The demo site's id: the `data-site` of `widget/demo.html`.
pub const DEMO_SITE_ID: &str = "01J00000000000000000000DEM";

/// The demo site's identity secret: local development only (the demo page signs its made-up
/// user with it, which a real site does in its backend).
pub const DEMO_IDENTITY_SECRET: &str = "demo-identity-secret-for-local-development-only";

/// The origins the demo site allows: the gateway's default address.
pub const DEMO_ORIGINS: [&str; 2] = ["http://127.0.0.1:3000", "http://localhost:3000"];

/// The widget tokens of the local gateway: `WIDGET_TOKEN_SECRET` when set, else the gateway's
/// development secret (the widget issuer keeps its tokens apart from development tokens).
pub fn local_widget_tokens(secret: &str, settings: &TokenSettings) -> Result<WidgetTokens, String> {
    let secret = switchboard_shared::config::var(switchboard_shared::secrets::WIDGET_TOKEN_SECRET)
        .unwrap_or_else(|| secret.to_owned());
    switchboard_shared::secrets::widget_tokens(
        &secret,
        switchboard_shared::secrets::WIDGET_TOKEN_SECRET,
        settings,
    )
    .map_err(|e| e.to_string())
}

/// Creates the demo site when it is missing (an admin may have changed it: then it stays).
pub async fn ensure_demo_site(store: &dyn ItemStore) -> Result<(), String> {
    let id = SiteId::parse(DEMO_SITE_ID).map_err(|e| e.to_string())?;
    if sites::get(store, &id).await.map_err(|e| e.to_string())?.is_some() {
        return Ok(());
    }
    let input = SiteInput {
        name: Some("Demo shop".into()),
        allowed_origins: Some(DEMO_ORIGINS.iter().map(|o| (*o).to_owned()).collect()),
        ..SiteInput::default()
    };
    let settings = input.apply(None).map_err(|e| e.message)?;
    let at = now();
    let record = SiteRecord {
        site: Site { site_id: id, settings, created_at: at, updated_at: at },
        secrets: IdentitySecrets {
            identity_secret: DEMO_IDENTITY_SECRET.to_owned(),
            previous_secret: None,
            previous_secret_until: None,
        },
    };
    match store.transact_write(sites::put_new(&record).map_err(|e| e.to_string())?).await {
        Ok(()) | Err(StoreError::TransactionCanceled { .. }) => Ok(()),
        Err(error) => Err(format!("creating the demo site: {error}")),
    }
}

/// A file of the built widget for `GET /widget/<path>` (`/widget/` itself is the demo page):
/// 404 for a missing file or an unbuilt widget, saying how to build it. Any origin may load
/// them (`Access-Control-Allow-Origin: *`): host pages import the lazily loaded chunks across
/// origins.
pub async fn widget_file(dir: &Path, path: &str) -> Response {
    let relative = PathBuf::from(path.strip_prefix(WIDGET_PATH).unwrap_or_default());
    let relative = if relative.as_os_str().is_empty() { PathBuf::from("demo.html") } else { relative };
    if relative.components().any(|part| !matches!(part, Component::Normal(_))) {
        return gateway_error(StatusCode::NOT_FOUND, "route_not_found", "no such route");
    }
    match tokio::fs::read(dir.join(&relative)).await {
        Ok(bytes) => {
            let extension = relative.extension().and_then(|e| e.to_str()).unwrap_or_default();
            (
                [
                    ("content-type", crate::dashboard::content_type(extension)),
                    ("cache-control", "no-cache"),
                    ("access-control-allow-origin", "*"),
                ],
                bytes,
            )
                .into_response()
        }
        Err(_) if !dir.join("loader.js").is_file() => gateway_error(
            StatusCode::NOT_FOUND,
            "widget_not_built",
            "the widget is not built: run (cd widget && npm ci && npm run build)",
        ),
        Err(_) => gateway_error(StatusCode::NOT_FOUND, "file_not_found", "the widget has no such file"),
    }
}

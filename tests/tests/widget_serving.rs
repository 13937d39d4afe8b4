//! The local gateway serves the built chat widget (`widget/dist`) at `/widget/`, as it serves the
//! dashboard, and keeps a demo site so the demo page works out of the box.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;
use switchboard_local::widget::{ensure_demo_site, DEMO_ORIGINS, DEMO_SITE_ID};
use switchboard_local::Gateway;
use switchboard_shared::auth::TokenVerifier;
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::store::sqlite::SqliteItemStore;
use switchboard_shared::App;
use switchboard_tests::{on_both_backends, Backend, TestApi, AUDIENCE, ISSUER, TEST_SECRET};

/// A gateway over a fresh SQLite store serving the widget from `dir`; its root URL.
async fn serving(dir: &std::path::Path) -> (String, tokio::sync::oneshot::Sender<()>, tempfile::TempDir) {
    let data = tempfile::TempDir::new().expect("a temporary directory");
    let store = Arc::new(SqliteItemStore::open(&data.path().join("db")).expect("a SQLite store"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let root = format!("http://{}", listener.local_addr().expect("an address"));
    let app = App::new(store, Arc::new(ApiGatewayRealtime::for_endpoint(&root)));
    let gateway = Gateway::new(app, TokenVerifier::hs256(TEST_SECRET.as_bytes(), ISSUER, AUDIENCE))
        .expect("gateway routes")
        .serving_widget(dir.to_path_buf());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(gateway.serve(listener, async move {
        let _ = stopped.await;
    }));
    (root, stop, data)
}

async fn get(url: &str) -> (u16, String, String, Option<String>) {
    let response = reqwest::get(url).await.expect("the gateway answers");
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (content_type, cors) =
        (header("content-type").unwrap_or_default(), header("access-control-allow-origin"));
    (status, content_type, response.text().await.expect("a body"), cors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_widget_and_its_demo_page_are_served_at_widget() {
    // Arrange
    let dist = tempfile::TempDir::new().expect("a temporary directory");
    std::fs::write(dist.path().join("loader.js"), "/* loader */").expect("write");
    std::fs::write(dist.path().join("chat-3f2a.js"), "/* chunk */").expect("write");
    std::fs::write(dist.path().join("demo.html"), "<!doctype html><title>Demo shop</title>").expect("write");
    let (root, _stop, _data) = serving(dist.path()).await;

    // Act
    let index = get(&format!("{root}/widget/")).await;
    let demo = get(&format!("{root}/widget/demo.html")).await;
    let loader = get(&format!("{root}/widget/loader.js")).await;
    let chunk = get(&format!("{root}/widget/chat-3f2a.js")).await;
    let missing = get(&format!("{root}/widget/chat-0000.js")).await;
    let escape = get(&format!("{root}/widget/%2e%2e/Cargo.toml")).await;

    // Assert
    assert_eq!((index.0, index.2.as_str()), (200, "<!doctype html><title>Demo shop</title>"));
    assert_eq!((demo.0, demo.1.as_str()), (200, "text/html; charset=utf-8"));
    assert_eq!(
        (loader.0, loader.1.as_str(), loader.2.as_str()),
        (200, "text/javascript; charset=utf-8", "/* loader */")
    );
    assert_eq!(chunk.3.as_deref(), Some("*"), "host pages import the chunks across origins");
    assert_eq!(missing.0, 404);
    assert!(missing.2.contains("file_not_found"), "{}", missing.2);
    assert_eq!(escape.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unbuilt_widget_is_a_clear_404_not_a_crash() {
    // Arrange
    let nowhere = tempfile::TempDir::new().expect("a temporary directory");
    let (root, _stop, _data) = serving(&nowhere.path().join("dist")).await;

    // Act
    let page = get(&format!("{root}/widget/demo.html")).await;
    let health = get(&format!("{root}/api/v1/admin/chat-dashboard/health")).await;

    // Assert
    assert_eq!(page.0, 404);
    assert!(page.2.contains("widget_not_built") && page.2.contains("npm run build"), "{}", page.2);
    assert_eq!(health.0, 200, "the gateway keeps serving");
}

async fn the_demo_site_is_created_once_and_an_admins_changes_stay(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    ensure_demo_site(api.store.as_ref()).await.expect("the demo site");
    let admin = api.token("admin-eve", switchboard_shared::domain::Role::Admin);

    // Act
    let changed = api
        .call(
            Method::PATCH,
            &format!("/admin/sites/{DEMO_SITE_ID}"),
            Some(&admin),
            Some(json!({"greeting": "Hi there"})),
        )
        .await;
    ensure_demo_site(api.store.as_ref()).await.expect("the demo site again");
    let mut settings = Vec::new();
    for origin in DEMO_ORIGINS {
        let response = api
            .client
            .get(format!("{}/widget/sites/{DEMO_SITE_ID}", api.base))
            .header("origin", origin)
            .send()
            .await
            .expect("the gateway answers");
        settings
            .push((response.status().as_u16(), response.json::<serde_json::Value>().await.expect("JSON")));
    }

    // Assert
    assert_eq!(changed.status, 200, "{}", changed.body);
    for (status, body) in settings {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["name"], "Demo shop");
        assert_eq!(body["greeting"], "Hi there", "the admin's change stays");
    }
}

on_both_backends!(the_demo_site_is_created_once_and_an_admins_changes_stay);

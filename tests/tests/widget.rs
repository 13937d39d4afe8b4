//! The chat widget's API, black-box: sites configured by admins, the public routes a site's
//! pages call (origin-checked, with CORS), visitor tokens and their resume credential, signed
//! identities (HMAC and JWT) and the conversation moving to the signed-in user, the origin check
//! of widget tokens on REST and the WebSocket connect, and the CORS preflights. On SQLite and on
//! DynamoDB (moto).

use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::domain::widget::sign_user_id;
use switchboard_shared::domain::Role;
use switchboard_tests::{on_both_backends, Backend, TestApi};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SHOP: &str = "https://shop.example";
const ELSEWHERE: &str = "https://evil.example";

/// A response with its headers.
struct Answer {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    /// The `Access-Control-Allow-Origin` header, if any.
    fn allowed_origin(&self) -> Option<&str> {
        self.headers.get("access-control-allow-origin").and_then(|v| v.to_str().ok())
    }
}

/// A request as a page of `origin` (when given) sends it, with an optional bearer token.
async fn call(
    api: &TestApi,
    method: Method,
    path: &str,
    origin: Option<&str>,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut request = api.client.request(method, format!("{}{path}", api.base));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("read the body");
    Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), headers }
}

fn admin(api: &TestApi) -> String {
    api.token("admin-eve", Role::Admin)
}

/// A site allowing [`SHOP`]: its id and identity secret.
async fn site(api: &TestApi) -> (String, String) {
    let created = call(
        api,
        Method::POST,
        "/admin/sites",
        None,
        Some(&admin(api)),
        Some(json!({"name": "Shop", "allowed_origins": [SHOP]})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    (
        created.body["site_id"].as_str().expect("a site id").to_owned(),
        created.body["identity_secret"].as_str().expect("a secret").to_owned(),
    )
}

/// A visitor's token reply on `site`, asked from [`SHOP`].
async fn visitor(api: &TestApi, site: &str, extra: Value) -> Answer {
    let mut body = json!({"site_id": site});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    call(api, Method::POST, "/widget/visitors", Some(SHOP), None, Some(body)).await
}

fn token_of(answer: &Answer) -> String {
    answer.body["token"].as_str().unwrap_or_else(|| panic!("no token in {}", answer.body)).to_owned()
}

async fn admins_create_list_read_change_rotate_and_delete_sites(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let eve = admin(&api);

    // Act
    let created = call(
        &api,
        Method::POST,
        "/admin/sites",
        None,
        Some(&eve),
        Some(
            json!({"name": "Shop", "allowed_origins": ["https://Shop.Example:443", "http://localhost:3000"],
            "prechat_fields": {"name": "required", "email": "off", "subject": "optional"},
            "colour": "#0F766E", "greeting": "Hello!", "position": "left", "locale": "es"}),
        ),
    )
    .await;
    let id = created.body["site_id"].as_str().expect("a site id").to_owned();
    let listed = call(&api, Method::GET, "/admin/sites?limit=10", None, Some(&eve), None).await;
    let read = call(&api, Method::GET, &format!("/admin/sites/{id}"), None, Some(&eve), None).await;
    let changed = call(
        &api,
        Method::PATCH,
        &format!("/admin/sites/{id}"),
        None,
        Some(&eve),
        Some(json!({"greeting": "Hola", "prechat_fields": {"email": "required"},
            "allowed_origins": ["https://shop.example"]})),
    )
    .await;
    let dropped_origin =
        call(&api, Method::GET, &format!("/widget/sites/{id}"), Some("http://localhost:3000"), None, None)
            .await;
    let rotated =
        call(&api, Method::POST, &format!("/admin/sites/{id}/rotate-secret"), None, Some(&eve), None).await;
    let deleted = call(&api, Method::DELETE, &format!("/admin/sites/{id}"), None, Some(&eve), None).await;
    let gone = call(&api, Method::GET, &format!("/admin/sites/{id}"), None, Some(&eve), None).await;

    // Assert
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["allowed_origins"], json!(["https://shop.example", "http://localhost:3000"]));
    assert_eq!(created.body["colour"], "#0f766e");
    assert_eq!(created.body["identity_secret"].as_str().map(str::len), Some(64));
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["items"][0]["site_id"], id.as_str());
    assert!(listed.body["items"][0].get("identity_secret").is_none(), "a list never shows the secret");
    assert_eq!(read.body["locale"], "es");
    assert!(read.body.get("identity_secret").is_none(), "a read never shows the secret");
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["greeting"], "Hola");
    assert_eq!(changed.body["position"], "left", "fields not sent stay");
    assert_eq!(
        changed.body["prechat_fields"],
        json!({"name": "required", "email": "required", "subject": "optional"})
    );
    assert_eq!(changed.body["allowed_origins"], json!(["https://shop.example"]));
    assert_eq!(dropped_origin.code(), "origin_not_allowed", "a removed origin is refused at once");
    assert_eq!(rotated.status, 200);
    assert_ne!(rotated.body["identity_secret"], created.body["identity_secret"]);
    assert!(rotated.body["previous_secret_expires_at"].is_string());
    assert_eq!(deleted.status, 204);
    assert_eq!((gone.status, gone.code()), (404, "site_not_found"));
}

async fn each_invalid_site_field_is_refused_with_its_own_code(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let eve = admin(&api);
    let valid = json!({"name": "Shop", "allowed_origins": [SHOP]});
    let cases = [
        (json!({"name": "", "allowed_origins": [SHOP]}), "invalid_name"),
        (json!({"allowed_origins": [SHOP]}), "invalid_name"),
        (json!({"name": "Shop", "allowed_origins": ["shop.example/path"]}), "invalid_origin"),
        (json!({"name": "Shop", "allowed_origins": []}), "invalid_origin"),
        (
            json!({"name": "Shop", "allowed_origins": (0..21).map(|i| format!("https://s{i}.example")).collect::<Vec<_>>()}),
            "too_many_origins",
        ),
        (
            json!({"name": "Shop", "allowed_origins": [SHOP], "prechat_fields": {"name": "maybe"}}),
            "invalid_prechat_fields",
        ),
        (json!({"name": "Shop", "allowed_origins": [SHOP], "colour": "red"}), "invalid_colour"),
        (json!({"name": "Shop", "allowed_origins": [SHOP], "greeting": "x".repeat(281)}), "invalid_greeting"),
        (json!({"name": "Shop", "allowed_origins": [SHOP], "position": "top"}), "invalid_position"),
        (json!({"name": "Shop", "allowed_origins": [SHOP], "locale": "fr"}), "invalid_locale"),
        (json!({"name": "Shop", "allowed_origins": [SHOP], "email_delay_minutes": 0}), "invalid_email_delay"),
        (
            json!({"name": "Shop", "allowed_origins": [SHOP], "email_delay_minutes": 1441}),
            "invalid_email_delay",
        ),
        (json!({"name": "Shop", "allowed_origins": [SHOP], "secret": "mine"}), "validation_failed"),
    ];

    // Act
    let mut refused = Vec::new();
    for (body, _) in &cases {
        refused.push(call(&api, Method::POST, "/admin/sites", None, Some(&eve), Some(body.clone())).await);
    }
    let listed = call(&api, Method::GET, "/admin/sites", None, Some(&eve), None).await;
    let fine = call(&api, Method::POST, "/admin/sites", None, Some(&eve), Some(valid)).await;

    // Assert
    for ((body, code), answer) in cases.iter().zip(&refused) {
        assert_eq!((answer.status, answer.code()), (422, *code), "{body}: {}", answer.body);
    }
    assert_eq!(listed.body["items"], json!([]), "nothing was written");
    assert_eq!(fine.status, 201);
    assert_eq!(fine.body["email_delay_minutes"], 5, "the default delay: {}", fine.body);
}

async fn only_admins_configure_sites(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let (id, _) = site(&api).await;
    let agent = api.token("agent-bob", Role::Agent);
    let customer = api.token("cust-ada", Role::Customer);
    let requests = [
        (Method::POST, "/admin/sites".to_owned(), Some(json!({"name": "Mine", "allowed_origins": [SHOP]}))),
        (Method::GET, "/admin/sites".to_owned(), None),
        (Method::GET, format!("/admin/sites/{id}"), None),
        (Method::PATCH, format!("/admin/sites/{id}"), Some(json!({"name": "Mine"}))),
        (Method::POST, format!("/admin/sites/{id}/rotate-secret"), None),
        (Method::DELETE, format!("/admin/sites/{id}"), None),
    ];

    // Act / Assert
    for (method, path, body) in requests {
        for token in [&agent, &customer] {
            let answer = call(&api, method.clone(), &path, None, Some(token), body.clone()).await;
            assert_eq!(answer.status, 403, "{method} {path}: {}", answer.body);
        }
        let anonymous = call(&api, method.clone(), &path, None, None, body.clone()).await;
        assert_eq!(anonymous.status, 401, "{method} {path}");
    }
    let still = call(&api, Method::GET, &format!("/admin/sites/{id}"), None, Some(&admin(&api)), None).await;
    assert_eq!(still.body["name"], "Shop", "nobody but an admin changed it");
}

async fn the_widget_reads_its_sites_settings_from_an_allowed_origin_or_its_own(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let (id, _) = site(&api).await;
    let path = format!("/widget/sites/{id}");

    // Act
    let allowed = call(&api, Method::GET, &path, Some(SHOP), None, None).await;
    let foreign = call(&api, Method::GET, &path, Some(ELSEWHERE), None, None).await;
    let no_origin = call(&api, Method::GET, &path, None, None, None).await;
    let unknown =
        call(&api, Method::GET, "/widget/sites/01JD0000000000000000000099", Some(SHOP), None, None).await;

    // Assert
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert_eq!(allowed.allowed_origin(), Some(SHOP));
    assert_eq!(allowed.body["name"], "Shop");
    assert_eq!(allowed.body["agents_online"], false);
    assert_eq!(allowed.body["prechat_fields"]["subject"], "required");
    assert!(allowed.body.get("identity_secret").is_none());
    assert_eq!((foreign.status, foreign.code()), (403, "origin_not_allowed"));
    assert_eq!(foreign.allowed_origin(), None, "a refused origin gets no CORS header");
    assert_eq!(no_origin.status, 200, "a same-origin page or a server reads the public settings");
    assert_eq!((no_origin.allowed_origin(), &no_origin.body["name"]), (None, &json!("Shop")));
    assert_eq!((unknown.status, unknown.code()), (404, "site_not_found"));
}

async fn a_visitors_token_opens_a_session_from_the_sites_page(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let (id, _) = site(&api).await;

    // Act
    let answer = visitor(&api, &id, json!({"name": "Grace", "email": "grace@example.com"})).await;
    let token = token_of(&answer);
    let opened = call(
        &api,
        Method::POST,
        "/chat/sessions",
        Some(SHOP),
        Some(&token),
        Some(json!({"subject": "Where is my order?"})),
    )
    .await;
    let mine = call(&api, Method::GET, "/chat/sessions", Some(SHOP), Some(&token), None).await;
    let refused =
        call(&api, Method::POST, "/widget/visitors", Some(ELSEWHERE), None, Some(json!({"site_id": id})))
            .await;

    // Assert
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.allowed_origin(), Some(SHOP));
    let user = answer.body["user_id"].as_str().expect("a user id");
    assert!(user.starts_with(&format!("wv:{id}:")), "the visitor's id names the site: {user}");
    assert!(answer.body["resume"].is_string() && answer.body["expires_at"].is_string());
    assert_eq!(opened.status, 201, "{}", opened.body);
    assert_eq!(opened.allowed_origin(), Some(SHOP), "the widget can read the answer");
    assert_eq!(opened.body["customer_id"], user);
    assert_eq!(opened.body["customer_name"], "Grace", "the pre-chat name is in the token");
    assert_eq!(mine.body["items"][0]["id"], opened.body["id"]);
    assert_eq!((refused.status, refused.code()), (403, "origin_not_allowed"));
    assert_eq!(refused.allowed_origin(), None);
}

async fn resuming_gives_the_same_visitor_a_fresh_token_and_a_forged_resume_is_refused(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let (id, _) = site(&api).await;
    let first = visitor(&api, &id, json!({})).await;
    let resume = first.body["resume"].as_str().expect("a resume credential").to_owned();
    let session = call(
        &api,
        Method::POST,
        "/chat/sessions",
        Some(SHOP),
        Some(&token_of(&first)),
        Some(json!({"subject": "Refund"})),
    )
    .await;
    let (visitor_part, _) = resume.split_once('.').expect("id.secret");

    // Act
    let again = visitor(&api, &id, json!({"resume": resume})).await;
    let read = call(
        &api,
        Method::GET,
        &format!("/chat/sessions/{}", session.body["id"].as_str().unwrap_or_default()),
        Some(SHOP),
        Some(&token_of(&again)),
        None,
    )
    .await;
    let forged = visitor(&api, &id, json!({"resume": format!("{visitor_part}.not-the-secret")})).await;
    let (other_site, _) = site(&api).await;
    let elsewhere = visitor(&api, &other_site, json!({"resume": resume})).await;

    // Assert
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body["user_id"], first.body["user_id"]);
    assert_eq!(read.status, 200, "the same visitor reads their conversation: {}", read.body);
    assert_eq!((forged.status, forged.code()), (403, "invalid_resume"));
    assert_eq!(
        (elsewhere.status, elsewhere.code()),
        (403, "invalid_resume"),
        "a resume is good on its own site only"
    );
}

async fn visitor_tokens_are_rate_limited_per_client_ip(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let (id, _) = site(&api).await;
    let burst = switchboard_shared::app::WIDGET_TOKEN_LIMIT.burst;

    // Act: a fresh address gets a burst, then one token per interval: a second burst's worth
    // of requests meets the limit unless they take `burst` intervals (a minute) to send.
    let mut statuses = Vec::new();
    for _ in 0..burst {
        statuses.push(visitor(&api, &id, json!({})).await.status);
    }
    let mut refused = None;
    for _ in 0..burst {
        let answer = visitor(&api, &id, json!({})).await;
        if answer.status != 201 {
            refused = Some(answer);
            break;
        }
    }

    // Assert
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let refused = refused.expect("a second burst meets the limit");
    assert_eq!((refused.status, refused.code()), (429, "rate_limited"));
    assert_eq!(refused.allowed_origin(), Some(SHOP), "the widget can read why");
}

async fn identify_with_an_hmac_signature_moves_the_visitors_open_session(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let (id, secret) = site(&api).await;
    let guest = visitor(&api, &id, json!({"name": "Grace"})).await;
    let guest_token = token_of(&guest);
    let opened = call(
        &api,
        Method::POST,
        "/chat/sessions",
        Some(SHOP),
        Some(&guest_token),
        Some(json!({"subject": "Broken zip"})),
    )
    .await;
    let session = opened.body["id"].as_str().expect("a session").to_owned();
    let mut agent = api.connect(&api.token("agent-bob", Role::Agent)).await;
    agent.subscribe(&session).await;

    // Act
    let identified = call(
        &api,
        Method::POST,
        "/widget/identify",
        Some(SHOP),
        Some(&guest_token),
        Some(json!({"site_id": id, "user_id": "u-42", "signature": sign_user_id(&secret, "u-42")})),
    )
    .await;
    let user_token = token_of(&identified);
    let users_sessions = call(&api, Method::GET, "/chat/sessions", Some(SHOP), Some(&user_token), None).await;
    let guests_sessions =
        call(&api, Method::GET, "/chat/sessions", Some(SHOP), Some(&guest_token), None).await;
    let guest_reads =
        call(&api, Method::GET, &format!("/chat/sessions/{session}"), Some(SHOP), Some(&guest_token), None)
            .await;

    // Assert
    assert_eq!(identified.status, 200, "{}", identified.body);
    assert_eq!(identified.body["user_id"], format!("wu:{id}:u-42"));
    assert_eq!(identified.body["moved_sessions"], json!([session]));
    assert_eq!(users_sessions.body["items"][0]["id"], session.as_str());
    assert_eq!(users_sessions.body["items"][0]["customer_id"], format!("wu:{id}:u-42"));
    assert_eq!(guests_sessions.body["items"], json!([]));
    assert_eq!(guest_reads.status, 404, "the visitor no longer sees it");
    let updated = agent.expect("session.updated").await;
    assert_eq!(updated["session"]["customer_id"], format!("wu:{id}:u-42"), "the agent sees who it is now");
}

async fn identify_with_a_jwt_signed_with_the_sites_secret(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let (id, secret) = site(&api).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let sign = |claims: Value| {
        encode(&Header::default(), &claims, &EncodingKey::from_secret(secret.as_bytes())).expect("sign")
    };
    let valid = sign(json!({"sub": "u-7", "name": "Ada Lovelace", "exp": now + 300}));
    let expired = sign(json!({"sub": "u-7", "exp": now - 600}));
    let without_expiry = sign(json!({"sub": "u-7"}));

    // Act
    let accepted = call(
        &api,
        Method::POST,
        "/widget/identify",
        Some(SHOP),
        None,
        Some(json!({"site_id": id, "identity_token": valid})),
    )
    .await;
    let mut refused = Vec::new();
    for token in [expired, without_expiry] {
        refused.push(
            call(
                &api,
                Method::POST,
                "/widget/identify",
                Some(SHOP),
                None,
                Some(json!({"site_id": id, "identity_token": token})),
            )
            .await,
        );
    }
    let opened = call(
        &api,
        Method::POST,
        "/chat/sessions",
        Some(SHOP),
        Some(&token_of(&accepted)),
        Some(json!({"subject": "Hello"})),
    )
    .await;

    // Assert
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.body["user_id"], format!("wu:{id}:u-7"));
    assert_eq!(opened.body["customer_name"], "Ada Lovelace");
    for answer in refused {
        assert_eq!((answer.status, answer.code()), (403, "invalid_identity"), "{}", answer.body);
        assert_eq!(answer.allowed_origin(), Some(SHOP), "the widget can read why");
    }
}

async fn forged_unsigned_and_other_sites_identities_are_refused(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let (id, secret) = site(&api).await;
    let (other, other_secret) = site(&api).await;
    let forged_jwt = encode(
        &Header::default(),
        &json!({"sub": "u-1", "exp": time::OffsetDateTime::now_utc().unix_timestamp() + 300}),
        &EncodingKey::from_secret(b"guessed-secret"),
    )
    .expect("sign");
    let bodies = [
        json!({"site_id": id, "user_id": "u-1", "signature": "0".repeat(64)}),
        json!({"site_id": id, "user_id": "u-1", "signature": sign_user_id(&secret, "u-2")}),
        json!({"site_id": id, "user_id": "u-1", "signature": sign_user_id(&other_secret, "u-1")}),
        json!({"site_id": id, "user_id": "u-1", "signature": sign_user_id(&secret, "u-1").to_uppercase()}),
        json!({"site_id": id, "identity_token": forged_jwt}),
    ];

    // Act
    let mut answers = Vec::new();
    for body in &bodies {
        answers
            .push(call(&api, Method::POST, "/widget/identify", Some(SHOP), None, Some(body.clone())).await);
    }
    let unsigned = call(
        &api,
        Method::POST,
        "/widget/identify",
        Some(SHOP),
        None,
        Some(json!({"site_id": id, "user_id": "u-1"})),
    )
    .await;
    let genuine_elsewhere = call(
        &api,
        Method::POST,
        "/widget/identify",
        Some(SHOP),
        None,
        Some(json!({"site_id": other, "user_id": "u-1", "signature": sign_user_id(&other_secret, "u-1")})),
    )
    .await;

    // Assert
    for (body, answer) in bodies.iter().zip(&answers) {
        assert_eq!((answer.status, answer.code()), (403, "invalid_identity"), "{body}");
        assert!(answer.body.get("token").is_none());
    }
    assert_eq!(unsigned.status, 422, "an identity without a signature is never trusted: {}", unsigned.body);
    assert_eq!(genuine_elsewhere.status, 200);
    assert_eq!(genuine_elsewhere.body["user_id"], format!("wu:{other}:u-1"), "site B's u-1 is not site A's");
}

async fn the_previous_secret_works_for_the_grace_period_after_a_rotation(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let (id, old) = site(&api).await;
    let rotated =
        call(&api, Method::POST, &format!("/admin/sites/{id}/rotate-secret"), None, Some(&admin(&api)), None)
            .await;
    let new = rotated.body["identity_secret"].as_str().expect("a new secret").to_owned();

    // Act
    let mut statuses = Vec::new();
    for secret in [&old, &new] {
        let body = json!({"site_id": id, "user_id": "u-9", "signature": sign_user_id(secret, "u-9")});
        statuses
            .push(call(&api, Method::POST, "/widget/identify", Some(SHOP), None, Some(body)).await.status);
    }

    // Assert
    assert_eq!(statuses, [200, 200]);
}

async fn a_widget_token_is_refused_from_an_origin_its_site_does_not_allow(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let (id, _) = site(&api).await;
    let token = token_of(&visitor(&api, &id, json!({})).await);

    // Act
    let foreign = call(&api, Method::GET, "/chat/sessions", Some(ELSEWHERE), Some(&token), None).await;
    let foreign_write = call(
        &api,
        Method::POST,
        "/chat/sessions",
        Some(ELSEWHERE),
        Some(&token),
        Some(json!({"subject": "Hi"})),
    )
    .await;
    let own = call(&api, Method::GET, "/chat/sessions", Some(SHOP), Some(&token), None).await;
    let from_a_server = call(&api, Method::GET, "/chat/sessions", None, Some(&token), None).await;
    let socket_from = |origin: &str| {
        let mut request = format!("{}/ws?token={token}", api.root.replacen("http://", "ws://", 1))
            .into_client_request()
            .expect("a WebSocket request");
        request.headers_mut().insert("origin", origin.parse().expect("a header value"));
        request
    };
    let foreign_socket = tokio_tungstenite::connect_async(socket_from(ELSEWHERE)).await;
    let own_socket = tokio_tungstenite::connect_async(socket_from(SHOP)).await;

    // Assert
    assert_eq!((foreign.status, foreign.code()), (403, "origin_not_allowed"));
    assert_eq!(foreign.allowed_origin(), None);
    assert_eq!((foreign_write.status, foreign_write.code()), (403, "origin_not_allowed"));
    assert_eq!(own.status, 200);
    assert_eq!(own.allowed_origin(), Some(SHOP));
    assert_eq!(from_a_server.status, 200, "a request without Origin is no browser page");
    assert_eq!(own.body["items"], json!([]), "nothing was opened from the foreign page");
    match foreign_socket {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 403)
        }
        other => panic!("the foreign page's WebSocket was not refused: {:?}", other.map(|_| ())),
    }
    assert!(own_socket.is_ok(), "the site's own page connects");
}

async fn another_issuers_token_cannot_speak_for_a_widget_user(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let (id, _) = site(&api).await;
    let impostor = api.token(&format!("wu:{id}:u-1"), Role::Customer);

    // Act
    let answer = call(&api, Method::GET, "/chat/sessions", Some(SHOP), Some(&impostor), None).await;

    // Assert
    assert_eq!(answer.status, 401);
    assert_eq!(answer.allowed_origin(), Some(SHOP), "the widget's page reads that it must sign in again");
}

async fn cors_preflights_answer_only_the_origins_sites_allow(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    site(&api).await;
    let preflight =
        |origin: &'static str, method: &'static str, headers: &'static str, path: &'static str| {
            let api = &api;
            async move {
                let response = api
                    .client
                    .request(Method::OPTIONS, format!("{}{path}", api.base))
                    .header("origin", origin)
                    .header("access-control-request-method", method)
                    .header("access-control-request-headers", headers)
                    .send()
                    .await
                    .expect("the gateway answers");
                let status = response.status().as_u16();
                let header = |name: &str| {
                    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
                };
                (status, header("access-control-allow-origin"), header("access-control-allow-headers"))
            }
        };

    // Act
    let allowed =
        preflight(SHOP, "POST", "authorization, content-type, idempotency-key", "/chat/messages").await;
    let session = preflight(SHOP, "GET", "authorization", "/chat/sessions/01JD0000000000000000000002").await;
    let visitors = preflight(SHOP, "POST", "content-type", "/widget/visitors").await;
    let foreign = preflight(ELSEWHERE, "POST", "content-type", "/chat/messages").await;
    let odd_header = preflight(SHOP, "POST", "x-custom", "/chat/messages").await;
    let odd_method = preflight(SHOP, "PUT", "content-type", "/chat/messages").await;

    // Assert
    assert_eq!(allowed.0, 204);
    assert_eq!(allowed.1.as_deref(), Some(SHOP));
    assert_eq!(allowed.2.as_deref(), Some("Authorization, Content-Type, Idempotency-Key"));
    assert_eq!((session.0, session.1.as_deref()), (204, Some(SHOP)));
    assert_eq!((visitors.0, visitors.1.as_deref()), (204, Some(SHOP)));
    for refused in [foreign, odd_header, odd_method] {
        assert_eq!((refused.0, refused.1), (403, None));
    }
}

/// The waiting customer's place reaches them live over the WebSocket as the queue moves.
async fn a_waiting_customer_hears_their_place_move_up_live(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let (id, _) = site(&api).await;
    let first = token_of(&visitor(&api, &id, json!({})).await);
    let second = token_of(&visitor(&api, &id, json!({})).await);
    let open = |token: String| {
        let api = &api;
        async move {
            let opened = call(
                api,
                Method::POST,
                "/chat/sessions",
                Some(SHOP),
                Some(&token),
                Some(json!({"subject": "Help"})),
            )
            .await;
            opened.body["id"].as_str().expect("a session").to_owned()
        }
    };
    let ahead = open(first).await;
    let mine = open(second.clone()).await;
    let mut socket = api.connect(&second).await;
    let subscribed = socket.subscribe(&mine).await;
    assert_eq!(subscribed["session"]["queue_position"], 2, "{subscribed}");
    switchboard_tests::on_duty(&api, "agent-bob").await;
    let agent = api.token("agent-bob", Role::Agent);

    // Act: the agent takes the session ahead (routing may already have given it to them).
    let path = format!("/admin/chat-dashboard/sessions/{ahead}/assign");
    let assigned = call(&api, Method::POST, &path, None, Some(&agent), Some(json!({}))).await;
    let moved = loop {
        let frame = socket.expect("queue.updated").await;
        if frame["queue_position"] == 1 {
            break frame;
        }
    };

    // Assert
    assert!([200, 409].contains(&assigned.status), "{}", assigned.body);
    assert_eq!(moved["session_id"], mine.as_str());
    assert!(moved.get("estimated_wait_seconds").is_some(), "null while no agent is online: {moved}");
}

on_both_backends!(
    admins_create_list_read_change_rotate_and_delete_sites,
    each_invalid_site_field_is_refused_with_its_own_code,
    only_admins_configure_sites,
    the_widget_reads_its_sites_settings_from_an_allowed_origin_or_its_own,
    a_visitors_token_opens_a_session_from_the_sites_page,
    resuming_gives_the_same_visitor_a_fresh_token_and_a_forged_resume_is_refused,
    visitor_tokens_are_rate_limited_per_client_ip,
    identify_with_an_hmac_signature_moves_the_visitors_open_session,
    identify_with_a_jwt_signed_with_the_sites_secret,
    forged_unsigned_and_other_sites_identities_are_refused,
    the_previous_secret_works_for_the_grace_period_after_a_rotation,
    a_widget_token_is_refused_from_an_origin_its_site_does_not_allow,
    another_issuers_token_cannot_speak_for_a_widget_user,
    cors_preflights_answer_only_the_origins_sites_allow,
    a_waiting_customer_hears_their_place_move_up_live,
);

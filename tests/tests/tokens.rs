//! Token rules as a caller meets them: lifetime, not-before and audience checks through the
//! local gateway; the authorizer's keys read at start-up from an SSM SecureString (moto) or an
//! identity provider's JWKS URL (served on 127.0.0.1), with a key rotation and the refresh limit;
//! the widget token secret read from SSM by the functions that mint widget tokens.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_authorizer::keys::{Authorizer, KeySource, StartupError, JWKS_REFRESH_INTERVAL_SECONDS};
use switchboard_shared::auth::{AuthError, WidgetTokens, DEFAULT_WIDGET_ISSUER};
use switchboard_shared::config::TokenSettings;
use switchboard_shared::domain::{Role, UserId};
use switchboard_shared::secrets::{ssm_client_for_endpoint, widget_tokens_from_parameter};
use switchboard_tests::{moto_endpoint, Backend, TestApi, AUDIENCE, ISSUER, TEST_SECRET};

const RSA_PRIVATE: &[u8] = include_bytes!("../../shared/testdata/rs256-private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("../../shared/testdata/rs256-public.pem");
const EC_PRIVATE: &[u8] = include_bytes!("../../shared/testdata/es256-private.pem");
const HOUR: i64 = 3600;
const YEAR: i64 = 365 * 24 * HOUR;

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).expect("the time fits in an i64")
}

/// A customer's claims valid for an hour from now; tests change what they are about.
fn claims() -> Value {
    let now = now();
    json!({"sub": "cust-ada", "role": "customer", "iat": now, "exp": now + HOUR, "iss": ISSUER, "aud": AUDIENCE})
}

/// `claims` signed HS256 with the test gateway's secret.
fn hs256(claims: &Value) -> String {
    let key = EncodingKey::from_secret(TEST_SECRET.as_bytes());
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("sign a token")
}

/// The status of a customer's `GET /chat/sessions` with this token.
async fn status_with(api: &TestApi, token: &str) -> u16 {
    api.call(Method::GET, "/chat/sessions", Some(token), None).await.status
}

const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::DynamoDb];

#[tokio::test]
async fn a_token_that_lives_longer_than_a_day_is_refused_even_when_correctly_signed() {
    for backend in BACKENDS {
        // Arrange
        let api = TestApi::start(backend).await;
        let mut thousand_years = claims();
        thousand_years["exp"] = json!(now() + 1000 * YEAR);
        let mut no_iat_thousand_years = thousand_years.clone();
        no_iat_thousand_years.as_object_mut().expect("an object").remove("iat");
        let mut backdated_iat = thousand_years.clone();
        backdated_iat["iat"] = json!(now() + 1000 * YEAR - HOUR);
        let mut a_day = claims();
        a_day["exp"] = json!(now() + 24 * HOUR);

        // Act and assert
        for (what, claims) in [
            ("exp 1000 years", thousand_years),
            ("no iat", no_iat_thousand_years),
            ("future iat", backdated_iat),
        ] {
            assert_eq!(status_with(&api, &hs256(&claims)).await, 401, "{backend:?}: {what}");
        }
        assert_eq!(status_with(&api, &hs256(&a_day)).await, 200, "{backend:?}: exactly a day is allowed");
    }
}

#[tokio::test]
async fn a_token_is_refused_before_its_not_before_time_and_accepted_after_it() {
    for backend in BACKENDS {
        // Arrange
        let api = TestApi::start(backend).await;
        let mut not_yet = claims();
        not_yet["nbf"] = json!(now() + 600);
        let mut already = claims();
        already["nbf"] = json!(now() - 60);

        // Act and assert
        assert_eq!(status_with(&api, &hs256(&not_yet)).await, 401, "{backend:?}");
        assert_eq!(status_with(&api, &hs256(&already)).await, 200, "{backend:?}");
    }
}

#[tokio::test]
async fn an_audience_array_and_a_missing_iat_are_accepted_as_identity_providers_issue_them() {
    for backend in BACKENDS {
        // Arrange
        let api = TestApi::start(backend).await;
        let mut array = claims();
        array["aud"] = json!(["another-api", AUDIENCE]);
        let mut foreign_array = claims();
        foreign_array["aud"] = json!(["another-api", "yet-another-api"]);
        let mut no_iat = claims();
        no_iat.as_object_mut().expect("an object").remove("iat");

        // Act and assert
        assert_eq!(status_with(&api, &hs256(&array)).await, 200, "{backend:?}: aud array");
        assert_eq!(status_with(&api, &hs256(&no_iat)).await, 200, "{backend:?}: no iat");
        assert_eq!(status_with(&api, &hs256(&foreign_array)).await, 401, "{backend:?}: foreign aud");
    }
}

fn settings() -> TokenSettings {
    TokenSettings { issuer: ISSUER.into(), audience: AUDIENCE.into(), max_lifetime_seconds: 24 * 3600 }
}

/// A fresh SecureString parameter on the moto server holding `value`; returns its name.
async fn secret_parameter(value: &str) -> String {
    let name = format!("/switchboard-test/{}/jwt-secret", ulid::Ulid::new());
    ssm_client_for_endpoint(&moto_endpoint())
        .expect("an SSM client")
        .put_parameter()
        .name(&name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("put a parameter on the moto server");
    name
}

fn parameter_source(name: &str) -> KeySource {
    KeySource::SecretParameter {
        name: name.to_owned(),
        ssm: ssm_client_for_endpoint(&moto_endpoint()).expect("an SSM client"),
    }
}

#[tokio::test]
async fn the_authorizer_reads_its_secret_from_an_ssm_secure_string_at_start_up() {
    // Arrange
    let name = secret_parameter(TEST_SECRET).await;
    let authorizer = Authorizer::load(parameter_source(&name), &settings(), now() as u64)
        .await
        .expect("the authorizer starts");
    let mut forged = claims();
    forged["role"] = json!("admin");
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &forged,
        &EncodingKey::from_secret(b"not-the-parameter-not-the-parameter"),
    )
    .expect("sign");

    // Act
    let accepted = authorizer.verify(&hs256(&claims()), now() as u64).await;
    let refused = authorizer.verify(&forged, now() as u64).await;

    // Assert
    assert_eq!(accepted.expect("the parameter's secret verifies").user_id.as_str(), "cust-ada");
    assert!(matches!(refused, Err(AuthError::Invalid(_))), "{refused:?}");
}

#[tokio::test]
async fn a_missing_or_short_secret_parameter_stops_start_up_naming_it() {
    // Arrange
    let missing = format!("/switchboard-test/{}/missing", ulid::Ulid::new());
    let short = secret_parameter("too-short").await;

    // Act
    let missing = Authorizer::load(parameter_source(&missing), &settings(), 0).await.err();
    let short = Authorizer::load(parameter_source(&short), &settings(), 0).await.err();

    // Assert
    assert!(
        matches!(&missing, Some(StartupError::Parameter { name, .. }) if name.ends_with("/missing")),
        "{missing:?}"
    );
    let short = short.expect("a short secret is refused").to_string();
    assert!(short.contains("JWT_SECRET_PARAMETER") && short.contains("32 bytes"), "{short}");
}

#[tokio::test]
async fn the_widget_token_secret_is_read_from_an_ssm_secure_string_by_the_minting_functions_and_the_authorizer(
) {
    // Arrange: one parameter, read at two cold starts (a minting function's, the authorizer's).
    let name = secret_parameter("widget-secret-widget-secret-widget-secret").await;
    let ssm = ssm_client_for_endpoint(&moto_endpoint()).expect("an SSM client");
    let minting =
        widget_tokens_from_parameter(&ssm, &name, &settings()).await.expect("the minting function starts");
    let checking =
        widget_tokens_from_parameter(&ssm, &name, &settings()).await.expect("the authorizer's copy");
    let authorizer = Authorizer::load(KeySource::Secret(TEST_SECRET.into()), &settings(), now() as u64)
        .await
        .expect("the authorizer starts")
        .accepting_widget_tokens(&checking);
    let visitor = UserId::parse("wv:01JD000000000000000000000A:v-1").expect("a visitor id");
    let other_secret =
        WidgetTokens::hs256(b"another-secret-another-secret-another", DEFAULT_WIDGET_ISSUER, AUDIENCE, 3600);

    // Act
    let (token, _) = minting.mint(&visitor, Some("Vi")).expect("a visitor token");
    let (forged, _) = other_secret.mint(&visitor, Some("Vi")).expect("a token of another secret");
    let accepted = authorizer.verify(&token, now() as u64).await;
    let refused = authorizer.verify(&forged, now() as u64).await;

    // Assert
    assert_eq!(accepted.expect("the parameter's secret verifies").user_id.as_str(), visitor.as_str());
    assert!(matches!(refused, Err(AuthError::Invalid(_))), "{refused:?}");
}

#[tokio::test]
async fn a_missing_or_short_widget_secret_parameter_stops_a_minting_function_naming_it() {
    // Arrange
    let ssm = ssm_client_for_endpoint(&moto_endpoint()).expect("an SSM client");
    let missing = format!("/switchboard-test/{}/missing", ulid::Ulid::new());
    let short = secret_parameter("too-short").await;

    // Act
    let missing =
        widget_tokens_from_parameter(&ssm, &missing, &settings()).await.err().map(|e| e.to_string());
    let short = widget_tokens_from_parameter(&ssm, &short, &settings()).await.err().map(|e| e.to_string());

    // Assert
    let missing = missing.expect("a missing parameter is refused");
    assert!(missing.contains("WIDGET_TOKEN_SECRET_PARAMETER") && missing.contains("/missing"), "{missing}");
    let short = short.expect("a short secret is refused");
    assert!(short.contains("WIDGET_TOKEN_SECRET_PARAMETER") && short.contains("32 bytes"), "{short}");
}

/// A JWKS document served on 127.0.0.1 that a test can replace, counting the fetches.
struct JwksServer {
    url: String,
    document: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(document: Value) -> Self {
        let document = Arc::new(Mutex::new(document));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (Arc::clone(&document), Arc::clone(&fetches));
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let body = served.lock().expect("the document").to_string();
                async move { ([("content-type", "application/json")], body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, document, fetches }
    }

    fn rotate_to(&self, document: Value) {
        *self.document.lock().expect("the document") = document;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// A signing key of the identity provider, with its `kid`.
struct ProviderKey {
    kid: &'static str,
    algorithm: Algorithm,
    key: EncodingKey,
}

impl ProviderKey {
    fn rsa(kid: &'static str) -> Self {
        Self {
            kid,
            algorithm: Algorithm::RS256,
            key: EncodingKey::from_rsa_pem(RSA_PRIVATE).expect("RSA key"),
        }
    }

    fn ec(kid: &'static str) -> Self {
        Self { kid, algorithm: Algorithm::ES256, key: EncodingKey::from_ec_pem(EC_PRIVATE).expect("EC key") }
    }

    /// The public half as a JWK, as the provider publishes it.
    fn jwk(&self) -> Value {
        let mut jwk = Jwk::from_encoding_key(&self.key, self.algorithm).expect("a JWK");
        jwk.common.key_id = Some(self.kid.to_owned());
        serde_json::to_value(jwk).expect("JWK JSON")
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key).expect("sign a token")
    }
}

fn jwks(keys: &[&ProviderKey]) -> Value {
    json!({"keys": keys.iter().map(|key| key.jwk()).collect::<Vec<_>>()})
}

async fn jwks_authorizer(server: &JwksServer, started: u64) -> Authorizer {
    Authorizer::load(KeySource::JwksUrl(server.url.clone()), &settings(), started)
        .await
        .expect("the authorizer starts")
}

#[tokio::test]
async fn rs256_and_es256_tokens_verify_with_the_key_their_kid_selects_across_a_rotation() {
    // Arrange
    let (old, new) = (ProviderKey::rsa("2026-11"), ProviderKey::ec("2026-12"));
    let server = JwksServer::start(jwks(&[&old])).await;
    let started = now() as u64;
    let authorizer = jwks_authorizer(&server, started).await;
    assert_eq!(server.fetches(), 1, "fetched once at start-up");
    let first = authorizer.verify(&old.sign(&claims()), started).await;

    // Act: the provider rotates to a new key and drops the old one.
    server.rotate_to(jwks(&[&new]));
    let later = started + JWKS_REFRESH_INTERVAL_SECONDS;
    let rotated = authorizer.verify(&new.sign(&claims()), later).await;
    let retired = authorizer.verify(&old.sign(&claims()), later + 1).await;

    // Assert
    assert_eq!(first.expect("RS256 with the published key").user_id.as_str(), "cust-ada");
    assert_eq!(rotated.expect("ES256 with the rotated key").role, Role::Customer);
    assert!(matches!(retired, Err(AuthError::UnknownKey(_))), "{retired:?}");
    assert_eq!(server.fetches(), 2, "one refetch for the new kid");
}

#[tokio::test]
async fn unknown_kids_refetch_the_key_set_at_most_once_a_minute() {
    // Arrange
    let (published, unpublished) = (ProviderKey::rsa("published"), ProviderKey::ec("not-yet"));
    let server = JwksServer::start(jwks(&[&published])).await;
    let started = now() as u64;
    let authorizer = jwks_authorizer(&server, started).await;

    // Act: a stream of tokens with an unknown kid within the first minute, then after it.
    for second in [0, 1, 30, JWKS_REFRESH_INTERVAL_SECONDS - 1] {
        let refused = authorizer.verify(&unpublished.sign(&claims()), started + second).await;
        assert!(matches!(refused, Err(AuthError::UnknownKey(_))), "{refused:?}");
    }
    let fetches_within_the_minute = server.fetches();
    server.rotate_to(jwks(&[&published, &unpublished]));
    let after_a_minute =
        authorizer.verify(&unpublished.sign(&claims()), started + JWKS_REFRESH_INTERVAL_SECONDS).await;
    let right_after = authorizer
        .verify(&ProviderKey::ec("made-up").sign(&claims()), started + JWKS_REFRESH_INTERVAL_SECONDS + 1)
        .await;

    // Assert
    assert_eq!(fetches_within_the_minute, 1, "only the start-up fetch");
    assert!(after_a_minute.is_ok(), "{after_a_minute:?}");
    assert!(matches!(right_after, Err(AuthError::UnknownKey(_))), "{right_after:?}");
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn alg_none_algorithm_confusion_and_tokens_without_kid_are_refused_by_a_key_set() {
    // Arrange
    let rsa = ProviderKey::rsa("rsa-key");
    let server = JwksServer::start(jwks(&[&rsa])).await;
    let started = now() as u64;
    let authorizer = jwks_authorizer(&server, started).await;
    let segment = |value: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    let mut admin = claims();
    admin["role"] = json!("admin");
    let alg_none =
        format!("{}.{}.", segment(&json!({"alg": "none", "typ": "JWT", "kid": "rsa-key"})), segment(&admin));
    // HS256 "signed" with the public key the provider publishes: the classic confusion attack.
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("rsa-key".to_owned());
    let confused =
        jsonwebtoken::encode(&hs_header, &admin, &EncodingKey::from_secret(RSA_PUBLIC)).expect("sign");
    // An ES256 token naming the RSA key's kid.
    let wrong_family = ProviderKey::ec("rsa-key").sign(&admin);
    let no_kid = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &admin, &rsa.key).expect("sign");

    // Act and assert
    for (what, token) in [
        ("alg none", alg_none),
        ("HS256 with the public key", confused),
        ("ES256 on an RSA kid", wrong_family),
        ("no kid", no_kid),
    ] {
        let refused = authorizer.verify(&token, started + 1).await;
        assert!(refused.is_err(), "{what}: {refused:?}");
    }
    assert!(authorizer.verify(&rsa.sign(&admin), started + 1).await.is_ok(), "the genuine token passes");
}

#[tokio::test]
async fn an_unreachable_or_empty_key_set_stops_start_up_naming_the_url() {
    // Arrange
    let empty = JwksServer::start(json!({"keys": [{"kty": "oct", "kid": "shared", "k": "c2VjcmV0"}]})).await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let unreachable = format!("http://{}/.well-known/jwks.json", closed.local_addr().expect("address"));
    drop(closed);

    // Act
    let empty = Authorizer::load(KeySource::JwksUrl(empty.url.clone()), &settings(), 0).await.err();
    let unreachable_error =
        Authorizer::load(KeySource::JwksUrl(unreachable.clone()), &settings(), 0).await.err();

    // Assert
    assert!(
        matches!(&empty, Some(StartupError::Jwks { .. })),
        "a symmetric key is not a signing key: {empty:?}"
    );
    assert!(
        matches!(&unreachable_error, Some(StartupError::Jwks { url, .. }) if *url == unreachable),
        "{unreachable_error:?}"
    );
}

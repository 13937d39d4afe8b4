//! Configuration read from the environment once, at cold start; a bad value stops start-up with
//! a message that names the variable.

use std::env;
use std::sync::Arc;

use crate::auth::TokenVerifier;
use crate::store::dynamo::DynamoItemStore;
use crate::store::ItemStore;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable that must be set is not.
    #[error("environment variable {0} must be set")]
    Missing(&'static str),
    /// A variable's value is unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Issuer checked in tokens unless `JWT_ISSUER` says otherwise.
pub const DEFAULT_ISSUER: &str = "switchboard";
/// Audience checked in tokens unless `JWT_AUDIENCE` says otherwise.
pub const DEFAULT_AUDIENCE: &str = "switchboard-api";
/// Shortest HS256 secret accepted: shorter ones can be brute-forced.
pub const MIN_SECRET_BYTES: usize = 32;

fn var(name: &'static str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The token verifier from `JWT_ALGORITHM` (HS256 default, or RS256), `JWT_SECRET` or
/// `JWT_PUBLIC_KEY` (PEM), `JWT_ISSUER`, `JWT_AUDIENCE`.
pub fn token_verifier_from_env() -> Result<TokenVerifier, ConfigError> {
    let issuer = var("JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.to_owned());
    let audience = var("JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());
    match var("JWT_ALGORITHM").as_deref().unwrap_or("HS256") {
        "HS256" => {
            let secret = var("JWT_SECRET").ok_or(ConfigError::Missing("JWT_SECRET"))?;
            if secret.len() < MIN_SECRET_BYTES {
                return Err(ConfigError::Invalid {
                    name: "JWT_SECRET",
                    reason: format!("must be at least {MIN_SECRET_BYTES} bytes"),
                });
            }
            Ok(TokenVerifier::hs256(secret.as_bytes(), &issuer, &audience))
        }
        "RS256" => {
            let pem = var("JWT_PUBLIC_KEY").ok_or(ConfigError::Missing("JWT_PUBLIC_KEY"))?;
            TokenVerifier::rs256(pem.as_bytes(), &issuer, &audience)
                .map_err(|e| ConfigError::Invalid { name: "JWT_PUBLIC_KEY", reason: e.to_string() })
        }
        other => Err(ConfigError::Invalid {
            name: "JWT_ALGORITHM",
            reason: format!("{other} is not supported; use HS256 or RS256"),
        }),
    }
}

/// The item store from `SWITCHBOARD_STORE` (`dynamodb`, the default, with `TABLE_NAME`; or
/// `sqlite:<path>` in builds with the `sqlite` feature).
pub async fn store_from_env() -> Result<Arc<dyn ItemStore>, ConfigError> {
    let kind = var("SWITCHBOARD_STORE").unwrap_or_else(|| "dynamodb".to_owned());
    if kind == "dynamodb" {
        let table = var("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?;
        return Ok(Arc::new(DynamoItemStore::new(dynamodb_client_from_env().await, table)));
    }
    #[cfg(feature = "sqlite")]
    if let Some(path) = kind.strip_prefix("sqlite:") {
        let store = crate::store::sqlite::SqliteItemStore::open(std::path::Path::new(path))
            .map_err(|e| ConfigError::Invalid { name: "SWITCHBOARD_STORE", reason: e.to_string() })?;
        return Ok(Arc::new(store));
    }
    Err(ConfigError::Invalid {
        name: "SWITCHBOARD_STORE",
        reason: format!("{kind:?} is not a store this build supports (dynamodb or sqlite:<path>)"),
    })
}

/// A DynamoDB client from the standard AWS environment (`AWS_REGION`, credentials, and
/// `AWS_ENDPOINT_URL` to point it at a local server).
pub async fn dynamodb_client_from_env() -> aws_sdk_dynamodb::Client {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_dynamodb::Client::new(&config)
}

/// A DynamoDB client for a DynamoDB-compatible server on `endpoint` (a moto server, DynamoDB
/// Local): the region and credentials of the environment when set, local placeholders when not.
pub async fn dynamodb_client_for_endpoint(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).endpoint_url(endpoint);
    if var("AWS_REGION").is_none() && var("AWS_DEFAULT_REGION").is_none() {
        loader = loader.region(aws_config::Region::new("us-east-1"));
    }
    if var("AWS_ACCESS_KEY_ID").is_none() {
        loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local",
            "local",
            None,
            None,
            "switchboard-local",
        ));
    }
    aws_sdk_dynamodb::Client::new(&loader.load().await)
}

/// Environment variable naming the DynamoDB-compatible server the tests use.
pub const TEST_DYNAMODB_ENDPOINT: &str = "SWITCHBOARD_TEST_DYNAMODB_ENDPOINT";

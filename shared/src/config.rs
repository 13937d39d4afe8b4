//! Configuration read from the environment once, at cold start; a bad value stops start-up with
//! a message that names the variable.

use std::env;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::Credentials;

use crate::auth::{KeySet, TokenVerifier, DEFAULT_MAX_LIFETIME_SECONDS};
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

/// Environment variable capping the open (waiting or active) sessions of one customer.
pub const MAX_OPEN_SESSIONS_VAR: &str = "MAX_OPEN_SESSIONS_PER_CUSTOMER";
/// Open sessions one customer may have unless [`MAX_OPEN_SESSIONS_VAR`] says otherwise.
pub const DEFAULT_MAX_OPEN_SESSIONS: u32 = 3;

/// The cap on one customer's open sessions from `MAX_OPEN_SESSIONS_PER_CUSTOMER` (default 3).
pub fn max_open_sessions_from_env() -> Result<u32, ConfigError> {
    parse_max_open_sessions(var(MAX_OPEN_SESSIONS_VAR).as_deref())
}

/// The cap from the variable's value: a whole number from 1 (0 would lock every customer out).
fn parse_max_open_sessions(value: Option<&str>) -> Result<u32, ConfigError> {
    let Some(text) = value else { return Ok(DEFAULT_MAX_OPEN_SESSIONS) };
    match text.trim().parse::<u32>() {
        Ok(cap) if cap >= 1 => Ok(cap),
        _ => Err(ConfigError::Invalid {
            name: MAX_OPEN_SESSIONS_VAR,
            reason: format!("must be a whole number from 1, got {text:?}"),
        }),
    }
}

/// A variable's value; unset and blank are the same.
pub fn var(name: &'static str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// What every token verifier checks besides the signature, from `JWT_ISSUER`, `JWT_AUDIENCE`
/// and `JWT_MAX_LIFETIME_SECONDS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// The `iss` tokens must carry.
    pub issuer: String,
    /// The `aud` tokens must carry (alone or in an array).
    pub audience: String,
    /// The longest lifetime accepted (`exp − iat`, or `exp − now` without `iat`).
    pub max_lifetime_seconds: u64,
}

impl TokenSettings {
    /// The settings from the environment (see the README's configuration table).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(var)
    }

    /// The settings from `lookup` (the environment, or a test's map).
    pub fn from_lookup(lookup: impl Fn(&'static str) -> Option<String>) -> Result<Self, ConfigError> {
        let max_lifetime_seconds = match lookup("JWT_MAX_LIFETIME_SECONDS") {
            None => DEFAULT_MAX_LIFETIME_SECONDS,
            Some(value) => {
                value.trim().parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| ConfigError::Invalid {
                    name: "JWT_MAX_LIFETIME_SECONDS",
                    reason: format!("{value:?} is not a positive number of seconds"),
                })?
            }
        };
        Ok(Self {
            issuer: lookup("JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.to_owned()),
            audience: lookup("JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
            max_lifetime_seconds,
        })
    }

    /// An HS256 verifier with these settings; the secret is refused when shorter than
    /// [`MIN_SECRET_BYTES`], naming `source` (the variable or parameter it came from).
    pub fn hs256(&self, secret: &str, source: &'static str) -> Result<TokenVerifier, ConfigError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::Invalid {
                name: source,
                reason: format!("the secret must be at least {MIN_SECRET_BYTES} bytes"),
            });
        }
        Ok(TokenVerifier::hs256(secret.as_bytes(), &self.issuer, &self.audience)
            .with_max_lifetime(self.max_lifetime_seconds))
    }

    /// An RS256 verifier with these settings and a PEM public key.
    #[cfg(feature = "asymmetric-jwt")]
    pub fn rs256(&self, pem: &str) -> Result<TokenVerifier, ConfigError> {
        TokenVerifier::rs256(pem.as_bytes(), &self.issuer, &self.audience)
            .map(|verifier| verifier.with_max_lifetime(self.max_lifetime_seconds))
            .map_err(|e| ConfigError::Invalid { name: "JWT_PUBLIC_KEY", reason: e.to_string() })
    }

    /// A verifier with these settings over an identity provider's key set.
    pub fn jwks(&self, keys: KeySet) -> TokenVerifier {
        TokenVerifier::jwks(keys, &self.issuer, &self.audience).with_max_lifetime(self.max_lifetime_seconds)
    }
}

/// The item store from `SWITCHBOARD_STORE` (`dynamodb`, the default, with `TABLE_NAME`; or
/// `sqlite:<path>` in builds with the `sqlite` feature).
pub async fn store_from_env() -> Result<Arc<dyn ItemStore>, ConfigError> {
    let kind = var("SWITCHBOARD_STORE").unwrap_or_else(|| "dynamodb".to_owned());
    if kind == "dynamodb" {
        let table = var("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?;
        return Ok(Arc::new(DynamoItemStore::new(dynamodb_client_from_env()?, table)));
    }
    #[cfg(feature = "sqlite")]
    if let Some(path) = kind.strip_prefix("sqlite:") {
        let limits = crate::store::sqlite::SqliteLimits::from_env()?;
        let store = crate::store::sqlite::SqliteItemStore::open_with(std::path::Path::new(path), limits)
            .map_err(|e| ConfigError::Invalid { name: "SWITCHBOARD_STORE", reason: e.to_string() })?;
        return Ok(Arc::new(store));
    }
    Err(ConfigError::Invalid {
        name: "SWITCHBOARD_STORE",
        reason: format!("{kind:?} is not a store this build supports (dynamodb or sqlite:<path>)"),
    })
}

/// How long the AWS SDK clients (DynamoDB, SNS, S3, Management API) wait and how often they
/// try, so that a store or service that hangs, refuses, resets or throttles costs a request a
/// bounded time — well inside API Gateway's 29 s and the functions' 10 s — instead of the SDK's
/// defaults (no read or operation timeout at all).
///
/// Worst case of one call: [`operation`](Self::operation) (the attempts, their backoff and the
/// connects all count against it). Each value has an environment variable, read at cold start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsLimits {
    /// Connecting (TCP and TLS): `SWITCHBOARD_AWS_CONNECT_TIMEOUT_MS`, default 1,000.
    pub connect: Duration,
    /// One attempt, sending to the last byte of the answer; also the wait for any byte
    /// (the read timeout): `SWITCHBOARD_AWS_ATTEMPT_TIMEOUT_MS`, default 2,000.
    pub attempt: Duration,
    /// A whole call, every attempt included: `SWITCHBOARD_AWS_OPERATION_TIMEOUT_MS`, default
    /// 5,000, at most 20,000.
    pub operation: Duration,
    /// Attempts of a call, the first included (standard retry mode, which retries timeouts,
    /// broken connections, throttling and 5xx): `SWITCHBOARD_AWS_MAX_ATTEMPTS`, default 3.
    pub max_attempts: u32,
}

/// A duration in milliseconds from the variable `name`, `default` when it is not set; from 1 ms
/// to `max`.
pub(crate) fn millis_var(
    name: &'static str,
    default: Duration,
    max: Duration,
) -> Result<Duration, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .ok()
            .map(Duration::from_millis)
            .filter(|d| !d.is_zero() && *d <= max)
            .ok_or_else(|| ConfigError::Invalid {
                name,
                reason: format!("must be a whole number of milliseconds from 1 to {}", max.as_millis()),
            }),
    }
}

/// Largest operation timeout accepted: a request must still answer well before API Gateway's
/// 29 s, after its other work.
pub const MAX_AWS_OPERATION_TIMEOUT: Duration = Duration::from_secs(20);

/// First backoff between attempts (jittered, doubled up to [`MAX_RETRY_BACKOFF`]); DynamoDB
/// throttling clears in milliseconds, and the SDK's default of a second would spend the budget.
const INITIAL_RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// Longest backoff between attempts.
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(1);

impl Default for AwsLimits {
    fn default() -> Self {
        Self {
            connect: Duration::from_millis(1_000),
            attempt: Duration::from_millis(2_000),
            operation: Duration::from_millis(5_000),
            max_attempts: 3,
        }
    }
}

impl AwsLimits {
    /// The limits from the environment, the defaults for what is not set.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let millis = millis_var;
        let limits = Self {
            connect: millis(
                "SWITCHBOARD_AWS_CONNECT_TIMEOUT_MS",
                defaults.connect,
                MAX_AWS_OPERATION_TIMEOUT,
            )?,
            attempt: millis(
                "SWITCHBOARD_AWS_ATTEMPT_TIMEOUT_MS",
                defaults.attempt,
                MAX_AWS_OPERATION_TIMEOUT,
            )?,
            operation: millis(
                "SWITCHBOARD_AWS_OPERATION_TIMEOUT_MS",
                defaults.operation,
                MAX_AWS_OPERATION_TIMEOUT,
            )?,
            max_attempts: match var("SWITCHBOARD_AWS_MAX_ATTEMPTS") {
                None => defaults.max_attempts,
                Some(raw) => raw.trim().parse::<u32>().ok().filter(|n| (1..=5).contains(n)).ok_or(
                    ConfigError::Invalid {
                        name: "SWITCHBOARD_AWS_MAX_ATTEMPTS",
                        reason: "must be a whole number from 1 to 5".into(),
                    },
                )?,
            },
        };
        Ok(limits)
    }

    /// The SDK's timeouts: connect, read (= attempt), attempt, operation.
    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .read_timeout(self.attempt)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    /// The SDK's retries: standard mode, [`max_attempts`](Self::max_attempts), short backoff.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(INITIAL_RETRY_BACKOFF)
            .with_max_backoff(MAX_RETRY_BACKOFF)
    }

    /// The limits for calls a retry would repeat for their receiver (a frame posted to a
    /// connection, a push published): an attempt may take the whole operation timeout, so a slow
    /// answer is not cut short and sent again; connection failures and throttling, where
    /// nothing was delivered, are still retried.
    pub fn for_deliveries(self) -> Self {
        Self { attempt: self.operation, ..self }
    }

    /// The limits for transfers of whole files (S3 report uploads): attempts and calls may take
    /// four times as long, still under [`MAX_AWS_OPERATION_TIMEOUT`].
    pub fn for_transfers(self) -> Self {
        Self {
            attempt: (self.attempt * 4).min(MAX_AWS_OPERATION_TIMEOUT),
            operation: (self.operation * 4).min(MAX_AWS_OPERATION_TIMEOUT),
            ..self
        }
    }
}

/// Root certificates of the AWS endpoints (see the file's header).
const AWS_ROOT_CERTIFICATES: &[u8] = include_bytes!("../certs/aws-roots.pem");

/// A DynamoDB client from the Lambda environment: `AWS_REGION`, the credentials Lambda puts in
/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, and `AWS_ENDPOINT_URL` to
/// point it at a DynamoDB-compatible server. Built from these variables alone: no profile
/// files, no metadata endpoint, nothing read from disk or the network at cold start.
pub fn dynamodb_client_from_env() -> Result<aws_sdk_dynamodb::Client, ConfigError> {
    let (region, credentials) = aws_environment()?;
    dynamodb_client(region, credentials, var("AWS_ENDPOINT_URL"), AwsLimits::from_env()?)
}

/// The region and credentials Lambda puts in the environment.
pub fn aws_environment() -> Result<(String, Credentials), ConfigError> {
    let region =
        var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).ok_or(ConfigError::Missing("AWS_REGION"))?;
    let access_key = var("AWS_ACCESS_KEY_ID").ok_or(ConfigError::Missing("AWS_ACCESS_KEY_ID"))?;
    let secret_key = var("AWS_SECRET_ACCESS_KEY").ok_or(ConfigError::Missing("AWS_SECRET_ACCESS_KEY"))?;
    let credentials = Credentials::new(access_key, secret_key, var("AWS_SESSION_TOKEN"), None, "environment");
    Ok((region, credentials))
}

/// The region and credentials for a local AWS-compatible server: the environment's when set,
/// local placeholders when not.
pub fn local_environment() -> (String, Credentials) {
    let region =
        var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).unwrap_or_else(|| "us-east-1".to_owned());
    let credentials = Credentials::new(
        var("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "local".to_owned()),
        var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "local".to_owned()),
        var("AWS_SESSION_TOKEN"),
        None,
        "switchboard-local",
    );
    (region, credentials)
}

/// A DynamoDB client for a DynamoDB-compatible server on `endpoint` (a moto server, DynamoDB
/// Local): the region and credentials of the environment when set, local placeholders when not.
pub fn dynamodb_client_for_endpoint(endpoint: &str) -> Result<aws_sdk_dynamodb::Client, ConfigError> {
    dynamodb_client_for_endpoint_with(endpoint, AwsLimits::from_env()?)
}

/// The same with these limits instead of the environment's (the fault-injection tests hold the
/// defaults while the rest of a test run gives a busy moto server longer).
pub fn dynamodb_client_for_endpoint_with(
    endpoint: &str,
    limits: AwsLimits,
) -> Result<aws_sdk_dynamodb::Client, ConfigError> {
    let (region, credentials) = local_environment();
    dynamodb_client(region, credentials, Some(endpoint.to_owned()), limits)
}

fn dynamodb_client(
    region: String,
    credentials: Credentials,
    endpoint: Option<String>,
    limits: AwsLimits,
) -> Result<aws_sdk_dynamodb::Client, ConfigError> {
    let builder = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new(region))
        .credentials_provider(credentials)
        .timeout_config(limits.timeout_config())
        .retry_config(limits.retry_config())
        .http_client(https_client(endpoint.as_deref().is_some_and(|url| url.starts_with("https://")))?);
    let builder = match endpoint {
        Some(url) => builder.endpoint_url(url),
        None => builder,
    };
    Ok(aws_sdk_dynamodb::Client::from_conf(builder.build()))
}

/// The HTTPS client of the AWS SDK clients: hyper with rustls on ring, trusting the AWS roots
/// only — plus the system's roots when an `https://` endpoint override may point elsewhere.
pub fn https_client(system_roots: bool) -> Result<aws_sdk_dynamodb::config::SharedHttpClient, ConfigError> {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls_context(system_roots)?)
        .build_https())
}

/// The TLS trust of [`https_client`]: the AWS roots, plus the system's when asked.
pub fn tls_context(system_roots: bool) -> Result<aws_smithy_http_client::tls::TlsContext, ConfigError> {
    use aws_smithy_http_client::tls::{TlsContext, TrustStore};
    let trust =
        TrustStore::empty().with_native_roots(system_roots).with_pem_certificate(AWS_ROOT_CERTIFICATES);
    TlsContext::builder().with_trust_store(trust).build().map_err(|e| ConfigError::Invalid {
        name: "AWS_ENDPOINT_URL",
        reason: format!("TLS set-up failed: {e}"),
    })
}

/// Environment variable naming the DynamoDB-compatible server the tests use.
pub const TEST_DYNAMODB_ENDPOINT: &str = "SWITCHBOARD_TEST_DYNAMODB_ENDPOINT";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_session_cap_defaults_to_three_and_refuses_zero_and_words() {
        assert_eq!(parse_max_open_sessions(None).unwrap(), DEFAULT_MAX_OPEN_SESSIONS);
        assert_eq!(parse_max_open_sessions(Some(" 5 ")).unwrap(), 5);
        assert!(parse_max_open_sessions(Some("0")).is_err());
        assert!(parse_max_open_sessions(Some("three")).is_err());
    }

    #[test]
    fn the_default_aws_limits_bound_a_call_well_inside_the_function_timeout() {
        let limits = AwsLimits::default();
        assert!(limits.operation <= Duration::from_secs(5));
        assert!(limits.attempt < limits.operation && limits.connect < limits.attempt);
        assert_eq!(limits.for_transfers().operation, MAX_AWS_OPERATION_TIMEOUT);
        assert_eq!(limits.for_deliveries().attempt, limits.operation);
    }

    #[test]
    fn the_embedded_aws_root_certificates_are_five_parseable_roots() {
        let text = std::str::from_utf8(AWS_ROOT_CERTIFICATES).unwrap();
        assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        assert!(https_client(false).is_ok());
    }
}
